"""Stage 3, compiling: a route's spec to Hypothesis strategies and fast reply validators."""
