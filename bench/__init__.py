"""Benchmarks; run with `uv run --group bench python -m bench.extract`."""
