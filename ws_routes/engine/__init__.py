"""Stage 5, the engine: conversations, the checks that judge them, the fixed probes, the route runner."""
