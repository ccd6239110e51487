"""SQLite, the embedded default: a file, the generic reader, integers all 64-bit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import URL

from etl.sources.dialects.base import Dialect, SaType
from etl.sources.errors import SourceError

_IN_MEMORY = (None, "", ":memory:")


class SQLite(Dialect):
    names: ClassVar[tuple[str, ...]] = ("sqlite",)
    label: ClassVar[str] = "SQLite"
    permanent_errors: ClassVar[tuple[str, ...]] = (r"no such (table|column|file)",)

    def check_url(self, url: URL) -> None:
        file = self.local_file(url)
        if file is not None and not file.exists():
            raise SourceError(f"SQLite database file {file} does not exist")

    def local_file(self, url: URL) -> Path | None:
        return None if url.database in _IN_MEMORY else Path(url.database or "")

    def begin_snapshot(self, conn: sa.Connection) -> bool:
        """A read transaction: SQLite's reads inside one see one state of the file."""
        conn.exec_driver_sql("BEGIN")
        return True

    def integer_width(self, t: SaType) -> int:
        return 64  # SQLite stores every integer in up to 8 bytes, whatever the declared type

    def untyped_date_type(self) -> SaType:
        # SQLite stores datetimes as ISO text: compared with ISO dates, which also match
        # DATE text and any time of day.
        return sa.String()

    def untyped_bounds(self, start: dt.datetime, end: dt.datetime) -> tuple[Any, Any]:
        return start.date().isoformat(), end.date().isoformat()
