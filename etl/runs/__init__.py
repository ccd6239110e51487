"""Runs started by the ``etl`` command: planned, executed with their code location, watched."""
