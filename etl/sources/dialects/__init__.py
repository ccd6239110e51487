"""Source dialects, one module each; :mod:`etl.sources.dialects.registry` chooses one per URL."""
