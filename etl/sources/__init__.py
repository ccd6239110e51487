"""Readers that stream a source table or query as Arrow record batches.

:func:`etl.sources.dispatch.open_reader` picks the reader for a connection URL: DuckDB's scanner
extensions where the URL's dialect has one (PostgreSQL, MySQL/MariaDB: fast, exact types) and
SQLAlchemy for everything else. Requests and errors are in :mod:`etl.sources.base`; the
dialects, one module each, in :mod:`etl.sources.dialects`.
"""
