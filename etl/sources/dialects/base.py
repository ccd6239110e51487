"""What a source dialect decides, with the generic SQLAlchemy behaviour as the default.

A dialect is chosen from the SQLAlchemy backend name of the source URL
(:func:`etl.sources.dialects.dialect_for`). The base class is the generic path every dialect
without a module of its own takes (MSSQL, Oracle, ...): no DuckDB scanner, no source-side
casts, queries typed from their values. A dialect module overrides only what differs.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import URL

SaType = sa.types.TypeEngine[Any]
Described = list[tuple[str, SaType | None]]


@dataclass(frozen=True)
class Scanner:
    """DuckDB's scanner extension for a dialect: the fast path (see ``duckdb_reader``)."""

    package: str  # the PyPI package holding the .duckdb_extension file
    extension: str  # the extension's file stem, e.g. "postgres_scanner"
    query_function: str  # runs a statement on the source: postgres_query, mysql_query


class Dialect:
    """The generic SQLAlchemy dialect; subclasses are the dialects we know better."""

    names: ClassVar[tuple[str, ...]] = ()
    """SQLAlchemy backend names this dialect serves (``url.get_backend_name()``)."""
    label: ClassVar[str] = "generic SQLAlchemy"
    scanner: ClassVar[Scanner | None] = None
    casts: ClassVar[bool] = False
    """Whether columns are cast in the source where a driver would lose information, so both
    readers read exactly the same values (only for dialects whose types we map exactly)."""
    transient_errors: ClassVar[tuple[str, ...]] = ()
    """Patterns (regular expressions, case-insensitive) of this database's errors that another
    try may get past: a restart, a dropped connection (:mod:`etl.stages.retries`)."""
    permanent_errors: ClassVar[tuple[str, ...]] = ()
    """Patterns of this database's errors no retry can fix: a wrong password, a missing table."""
    scanner_snapshot: ClassVar[bool] = False
    """Whether the scanner's queries inside one DuckDB transaction see one snapshot of the
    source, so a day's fingerprint and its rows cannot disagree (else: taken before and after
    the read, and a day whose fingerprint moved is marked changing)."""

    # --- connecting --------------------------------------------------------------------

    def connect_args(self, connect_timeout_s: int,
                     statement_timeout_s: float | None = None) -> dict[str, object]:
        """Driver arguments for ``create_engine``; the generic path passes none."""
        return {}

    def configure_session(self, dbapi_connection: Any, statement_timeout_s: float) -> None:
        """Apply a statement timeout on a fresh connection (dialects that cannot in the URL)."""

    def check_url(self, url: URL) -> None:
        """Fail early with a clear message when the URL cannot work (e.g. a missing file)."""

    def local_file(self, url: URL) -> Path | None:
        """The database file of an embedded dialect (SQLite), else None."""
        return None

    def abort(self, dbapi_connection: Any) -> None:
        """Make a call blocked on this driver connection fail now, from another thread (a
        stalled read): its socket is shut down, which ends any read waiting on it."""
        fd = _socket_fd(dbapi_connection)
        if fd is None or fd < 0:
            return
        sock = socket.socket(fileno=fd)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.detach()  # the driver still owns the descriptor and closes it

    # --- column types ------------------------------------------------------------------

    def integer_width(self, t: SaType) -> int:
        """Bits of an integer column (8, 16, 32, 64); the generic path trusts the type name."""
        if isinstance(t, sa.SmallInteger):
            return 16
        if isinstance(t, sa.BigInteger):
            return 64
        return 32

    def is_instant(self, t: SaType) -> bool:
        """Whether a datetime column holds instants (``timestamptz``), not wall-clock times."""
        return bool(getattr(t, "timezone", False))

    def needs_text_cast(self, t: SaType) -> bool:
        """Types read as the server's text because a driver or scanner would lose information.

        Only consulted when :attr:`casts` is true.
        """
        return False

    def read_expression(
        self, t: SaType
    ) -> Callable[[sa.ColumnElement[Any]], sa.ColumnElement[Any]] | None:
        """How to read a column whose bare value and text cast would both lose information.

        An interval must come as ``'<months> <days> <microseconds>'`` text. Only consulted when
        :attr:`casts` is true.
        """
        return None

    def column_types(self, conn: sa.Connection, table: sa.Table) -> dict[str, SaType]:
        """Each reflected column's type, where the dialect knows better than reflection."""
        return {c.name: c.type for c in table.columns}

    # --- queries -----------------------------------------------------------------------

    def describe(self, conn: sa.Connection, sql: str) -> Described | None:
        """A query's column names and types without running it, or None (typed from values)."""
        return None

    def untyped_date_type(self) -> SaType:
        """How to compare an undescribed query's date column with the window's bounds."""
        return sa.DateTime()

    def untyped_bounds(self, start: dt.datetime, end: dt.datetime) -> tuple[Any, Any]:
        """Window bounds for an undescribed query's date column."""
        return start, end

    def instant_bounds(self, start: dt.datetime, end: dt.datetime) -> tuple[Any, Any]:
        """Bounds for instant columns, given as aware UTC datetimes."""
        return start, end

    def wall_clock_bounds(self, start: dt.datetime, end: dt.datetime) -> tuple[Any, Any]:
        """Bounds for naive timestamp columns: midnights, as naive datetimes."""
        return start, end

    # --- fingerprints (etl.sources.fingerprint) ----------------------------------------------

    def begin_snapshot(self, conn: sa.Connection) -> bool:
        """Start the SQLAlchemy reader's transaction so that every query on ``conn`` sees one
        snapshot; whether they do. The generic path cannot know: before and after."""
        return False

    def row_hash(self, columns: Sequence[sa.ColumnElement[Any]],
                 server: tuple[int, ...] = ()) -> sa.ColumnElement[Any] | None:
        """One row's hash over ``columns``, an integer below 2**63 in magnitude, computed by the
        database (NULL-safe); ``server`` is its version. A day's checksum is the exact sum of
        its rows' hashes (:meth:`row_checksum`), which an extract may also add up from the rows
        it reads (:mod:`etl.sources.in_band`). None: hashed by the reader instead."""
        return None

    def row_checksum(self, columns: Sequence[sa.ColumnElement[Any]],
                     server: tuple[int, ...] = ()) -> sa.ColumnElement[Any] | None:
        """The aggregate checksum of a group's rows over ``columns``, as text: the exact sum of
        their :meth:`row_hash` (order-independent). None: hashed by the reader instead."""
        return None

    def day_key(self, column: sa.ColumnElement[Any], kind: str, timezone: str,
                start: dt.datetime, end: dt.datetime) -> sa.ColumnElement[Any] | None:
        """The day (a ``date``) a date column's value falls on in ``timezone``, the way the
        extract assigns rows to days; ``kind`` is ``date``, ``naive`` or ``instant`` (given the
        window's UTC bounds ``start``, ``end``). None: assigned by the reader instead."""
        return None

    # --- the DuckDB scanner --------------------------------------------------------------

    def scanner_settings(self) -> Sequence[str]:
        """DuckDB statements run after loading the scanner, before attaching."""
        return ()

    def scanner_attach(self, url: URL, alias: str,
                       statement_timeout_s: float | None = None) -> Sequence[str]:
        """Statements that ATTACH the source read-only as ``alias`` (password inside them)."""
        raise NotImplementedError(f"{self.label} sources have no DuckDB scanner")


def text_bounds(start: dt.datetime, end: dt.datetime) -> tuple[Any, Any]:
    """A window's first and after-last days as ISO-date text, typed as text whatever the
    column's type: they order exactly against ISO timestamps stored as text
    (:mod:`etl.sources.row_filter`)."""
    return (sa.literal(start.date().isoformat(), sa.String()),
            sa.literal(end.date().isoformat(), sa.String()))


def _socket_fd(dbapi_connection: Any) -> int | None:
    """The descriptor of a driver connection's socket: PyMySQL keeps the socket object,
    psycopg (and most libpq-based drivers) give ``fileno()``; None when closed or unknown."""
    if getattr(dbapi_connection, "closed", False):
        return None
    sock = getattr(dbapi_connection, "_sock", None)
    if isinstance(sock, socket.socket):
        return sock.fileno()
    fileno = getattr(dbapi_connection, "fileno", None)
    return int(fileno()) if callable(fileno) else None
