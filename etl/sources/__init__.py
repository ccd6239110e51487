"""Readers that stream a source table or query as Arrow record batches.

``open_reader`` picks the reader for a connection URL: DuckDB's scanner extensions for
PostgreSQL and MySQL/MariaDB (fast, exact types) and SQLAlchemy for everything else.
"""

from etl.sources.base import ExtractRequest, SourceError
from etl.sources.dispatch import open_reader

__all__ = ["ExtractRequest", "SourceError", "open_reader"]
