"""Warehouses the load stage writes to: DuckDB (embedded) and Trino."""
