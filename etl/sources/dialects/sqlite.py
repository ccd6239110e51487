"""SQLite, the embedded default: a file, the generic reader, integers all 64-bit.

SQLite has no datetime type: a ``TIMESTAMP`` column holds text, written by whoever inserted it
(``'2026-03-02 00:00:00'``, ``'2026-03-02 00:00:00.000001'``, ``'2026-03-02T00:00:00'``), and
compares as text. Days are therefore bounded by ISO dates, which order exactly against each of
those forms (:func:`etl.sources.dialects.base.text_bounds`); SQLAlchemy's own datetime bound,
``'2026-03-02 00:00:00.000000'``, sorts after a midnight written without its fraction, which
put that row in the day before. ``julianday()`` or ``strftime()`` would cost the index and round
to milliseconds (23:59:59.9996 would become the next day).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import URL

from etl.sources.dialects.base import Dialect, SaType, text_bounds
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

    def abort(self, dbapi_connection: Any) -> None:
        dbapi_connection.interrupt()  # no socket: sqlite3 stops the running statement

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

    def wall_clock_bounds(self, start: dt.datetime, end: dt.datetime) -> tuple[Any, Any]:
        return text_bounds(start, end)
