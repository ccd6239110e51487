"""Every source dialect, chosen by the SQLAlchemy backend name of the URL.

PostgreSQL and MySQL/MariaDB have DuckDB scanners and exact typing; SQLite is the embedded
default; every other backend (MSSQL, Oracle, ...) takes the generic SQLAlchemy path of
:class:`~etl.sources.dialects.base.Dialect`. Adding a dialect is one module and one line in
:data:`DIALECTS`.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.engine import URL

from etl.sources.dialects.base import Dialect, Scanner
from etl.sources.dialects.mysql import MySQL
from etl.sources.dialects.postgresql import PostgreSQL
from etl.sources.dialects.sqlite import SQLite

__all__ = ["DIALECTS", "GENERIC", "Dialect", "Scanner", "dialect_for"]

DIALECTS: Final[tuple[Dialect, ...]] = (PostgreSQL(), MySQL(), SQLite())
GENERIC: Final = Dialect()
_BY_NAME: Final = {name: d for d in DIALECTS for name in d.names}


def dialect_for(url: URL | str) -> Dialect:
    """The dialect serving ``url`` (a URL or a backend name); the generic one if unknown."""
    backend = url if isinstance(url, str) else url.get_backend_name()
    return _BY_NAME.get(backend, GENERIC)
