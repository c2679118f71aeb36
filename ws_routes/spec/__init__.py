"""Stage 1, spec loading: spec files (YAML, TOML, JSON, AsyncAPI) to frozen dataclasses, with located errors."""
