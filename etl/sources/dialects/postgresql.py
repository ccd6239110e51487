"""PostgreSQL: the DuckDB ``postgres_scanner`` (binary COPY), exact types, described queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL
from sqlalchemy.sql import sqltypes

from etl.sources.dialects.base import Described, Dialect, SaType, Scanner
from etl.sources.dialects.describe import describe_query
from etl.utils.sql import literal

_SCALARS: dict[int, Callable[[], SaType]] = {
    16: sa.Boolean, 20: sa.BigInteger, 21: sa.SmallInteger, 23: sa.Integer,
    700: sa.REAL, 701: sa.Double, 25: sa.Text, 1043: sa.String, 1042: sa.CHAR,
    1082: sa.Date, 1083: sa.Time, 1266: lambda: sa.Time(timezone=True),
    1114: sa.DateTime, 1184: lambda: sa.DateTime(timezone=True),
    1186: postgresql.INTERVAL, 114: postgresql.JSON, 3802: postgresql.JSONB,
    17: sa.LargeBinary, 2950: sa.Uuid,
}
_ARRAYS = {1000: 16, 1005: 21, 1007: 23, 1016: 20, 1009: 25, 1015: 1043, 1021: 700,
           1022: 701, 1182: 1082, 1115: 1114, 1185: 1184}
_NUMERIC = 1700
_BPCHAR = 1042
_KNOWN = {*_SCALARS, *_ARRAYS, _NUMERIC}
CONNINFO_TIMEOUT_S = 15


class PostgreSQL(Dialect):
    names: ClassVar[tuple[str, ...]] = ("postgresql",)
    label: ClassVar[str] = "PostgreSQL"
    transient_errors: ClassVar[tuple[str, ...]] = (
        r"could not connect", r"server closed the connection", r"too many connections",
        r"the database system is (starting up|shutting down|in recovery)",
        r"terminating connection due to administrator command",
    )
    permanent_errors: ClassVar[tuple[str, ...]] = (
        r"password authentication failed", r"does not exist",
    )
    scanner: ClassVar[Scanner | None] = Scanner(
        "duckdb_extension_postgres_scanner", "postgres_scanner", "postgres_query"
    )
    casts: ClassVar[bool] = True
    # One DuckDB transaction would read the fingerprint and the rows in one REPEATABLE READ
    # snapshot, but a server that restarts mid-read then takes the whole process down (the
    # run worker dies instead of the read failing as transient, retried by the step). The rows
    # carry their hashes instead (etl.sources.in_band): one statement, one snapshot.
    scanner_snapshot: ClassVar[bool] = False

    def connect_args(self, connect_timeout_s: int,
                     statement_timeout_s: float | None = None) -> dict[str, object]:
        args: dict[str, object] = {"connect_timeout": connect_timeout_s}
        if statement_timeout_s is not None:
            args["options"] = _timeout_option(statement_timeout_s)
        return args

    def needs_text_cast(self, t: SaType) -> bool:
        if isinstance(t, sqltypes.JSON | sqltypes.Uuid):
            return True
        if isinstance(t, sqltypes.Time):  # timetz: an offset has no Arrow time type
            return bool(getattr(t, "timezone", False))
        return False

    def read_expression(
        self, t: SaType
    ) -> Callable[[sa.ColumnElement[Any]], sa.ColumnElement[Any]] | None:
        if isinstance(t, sqltypes._AbstractInterval):
            return interval_text
        length = getattr(t, "length", None)
        if isinstance(t, sqltypes.CHAR) and length:
            # char(n) keeps its pad blanks: the scanner (like a text cast) would drop them.
            return lambda column: sa.func.rpad(sa.cast(column, sa.Text), length)
        return None

    def describe(self, conn: sa.Connection, sql: str) -> Described | None:
        # psycopg's Column has precision and scale of numerics.
        columns = describe_query(conn, sql).description
        enums = _enum_types(conn, {int(c.type_code) for c in columns} - _KNOWN)
        return [(c.name, enums.get(int(c.type_code)) or _type(c)) for c in columns]

    def instant_bounds(self, start: dt.datetime, end: dt.datetime) -> tuple[Any, Any]:
        return start, end  # compared as timestamptz, zone included

    def begin_snapshot(self, conn: sa.Connection) -> bool:
        conn.execution_options(isolation_level="REPEATABLE READ")
        return True

    def row_hash(self, columns: Sequence[sa.ColumnElement[Any]],
                 server: tuple[int, ...] = ()) -> sa.ColumnElement[Any] | None:
        """A 64-bit hash of the row (``bigint``).

        PostgreSQL 14 and later hash the row's values in their binary form
        (``hash_record_extended``: no formatting, nothing that depends on the session's time zone
        or float settings), a type without a hash function (json, xml, geometric, arrays) as its
        text; older servers hash the row's text form (``hashtextextended``), several times
        slower.
        """
        if server and server < (14,):
            text = sa.cast(sa.func.ROW(*columns), sa.Text)
            return sa.func.hashtextextended(text, sa.literal_column("0"))
        row = sa.func.ROW(*(c if _hashable(c.type) else sa.cast(c, sa.Text) for c in columns))
        return sa.func.hash_record_extended(row, sa.literal_column("0"))

    def row_checksum(self, columns: Sequence[sa.ColumnElement[Any]],
                     server: tuple[int, ...] = ()) -> sa.ColumnElement[Any] | None:
        """The exact sum of the rows' hashes (``sum(bigint)`` is ``numeric``), as text."""
        return sa.cast(sa.func.sum(self.row_hash(columns, server)), sa.Text)

    def day_key(self, column: sa.ColumnElement[Any], kind: str, timezone: str,
                start: dt.datetime, end: dt.datetime) -> sa.ColumnElement[Any] | None:
        if kind == "instant":
            column = sa.func.timezone(sa.literal_column(literal(timezone)), column)
        return sa.cast(column, sa.Date) if kind != "date" else column

    def scanner_settings(self) -> Sequence[str]:
        return ["SET pg_use_binary_copy = true"]  # binary COPY: no text parsing

    def scanner_attach(self, url: URL, alias: str,
                       statement_timeout_s: float | None = None) -> Sequence[str]:
        conninfo = libpq_conninfo(url, statement_timeout_s)
        return [f"ATTACH {literal(conninfo)} AS {alias} (TYPE postgres, READ_ONLY)"]


_HASHED = (sqltypes.Integer, sqltypes.Numeric, sqltypes.Date, sqltypes.DateTime, sqltypes.Time,
           sqltypes._AbstractInterval, sqltypes.Boolean, sqltypes.Uuid, sqltypes.LargeBinary,
           sqltypes.String)


def _hashable(t: SaType) -> bool:
    """Types whose values PostgreSQL hashes by their binary form (json has no hash function;
    arrays and unknown types are hashed as text, which always works)."""
    return isinstance(t, _HASHED) and not isinstance(t, sqltypes.JSON | sqltypes.ARRAY)


def interval_text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """``'<months> <days> <microseconds>'``: EXTRACT gives each field with the interval's own
    sign, and hours, minutes and microseconds (seconds included) add up to its time part."""
    def part(field: str, factor: int = 1) -> sa.ColumnElement[Any]:
        # Literals inlined: bound, psycopg would send the factors as too narrow integers.
        value = sa.extract(field, column)
        return value * sa.literal_column(str(factor)) if factor != 1 else value

    months = part("year", 12) + part("month")
    micros = part("hour", 3_600_000_000) + part("minute", 60_000_000) + part("microseconds")
    pieces = [sa.cast(sa.cast(months, sa.Integer), sa.Text),
              sa.cast(sa.cast(part("day"), sa.Integer), sa.Text),
              sa.cast(sa.cast(micros, sa.BigInteger), sa.Text)]
    space: sa.ColumnElement[Any] = sa.literal_column("' '")
    return pieces[0].op("||")(space).op("||")(pieces[1]).op("||")(space).op("||")(pieces[2])


def _timeout_option(seconds: float) -> str:
    return f"-c statement_timeout={int(seconds * 1000)}"


def libpq_conninfo(url: URL, statement_timeout_s: float | None = None) -> str:
    """``key='value' ...`` for libpq; URL query options (sslmode, ...) are passed through."""
    params: dict[str, str | int | None] = {
        "host": url.host, "port": url.port, "dbname": url.database, "user": url.username,
        "password": url.password if isinstance(url.password, str) else None,
        "connect_timeout": CONNINFO_TIMEOUT_S, "application_name": "etl",
        "options": _timeout_option(statement_timeout_s) if statement_timeout_s else None,
    }
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    return " ".join(f"{k}={_libpq_quote(str(v))}" for k, v in params.items() if v is not None)


def _libpq_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _enum_types(conn: sa.Connection, oids: set[int]) -> dict[int, SaType]:
    """The enum types among a query's unknown type oids, with their labels in order."""
    if not oids:
        return {}
    rows = conn.execute(sa.text(
        "SELECT enumtypid, enumlabel FROM pg_enum WHERE enumtypid = ANY(:oids) "
        "ORDER BY enumtypid, enumsortorder"), {"oids": sorted(oids)}).all()
    labels: dict[int, list[str]] = {}
    for oid, label in rows:
        labels.setdefault(int(oid), []).append(str(label))
    return {oid: sa.Enum(*values, native_enum=True) for oid, values in labels.items()}


def _type(column: Any) -> SaType:
    oid = int(column.type_code)
    if oid == _NUMERIC:
        return sa.Numeric(column.precision, column.scale)
    if oid == _BPCHAR:
        return sa.CHAR(column.display_size)
    if oid in _ARRAYS:
        return sa.ARRAY(_SCALARS[_ARRAYS[oid]]())
    factory = _SCALARS.get(oid)
    # Unknown oids (enums, inet, money, ...) are read as the server's text, like a table's.
    return factory() if factory is not None else sa.types.NullType()
