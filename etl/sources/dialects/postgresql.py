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
CONNINFO_TIMEOUT_S = 15


class PostgreSQL(Dialect):
    names: ClassVar[tuple[str, ...]] = ("postgresql",)
    label: ClassVar[str] = "PostgreSQL"
    scanner: ClassVar[Scanner | None] = Scanner(
        "duckdb_extension_postgres_scanner", "postgres_scanner", "postgres_query"
    )
    casts: ClassVar[bool] = True

    def connect_args(self, connect_timeout_s: int,
                     statement_timeout_s: float | None = None) -> dict[str, object]:
        args: dict[str, object] = {"connect_timeout": connect_timeout_s}
        if statement_timeout_s is not None:
            args["options"] = _timeout_option(statement_timeout_s)
        return args

    def needs_text_cast(self, t: SaType) -> bool:
        if isinstance(t, sqltypes.Interval | sqltypes.JSON | sqltypes.Uuid):
            return True
        if isinstance(t, sqltypes.Time):  # timetz: an offset has no Arrow time type
            return bool(getattr(t, "timezone", False))
        return isinstance(t, sqltypes.CHAR)

    def describe(self, conn: sa.Connection, sql: str) -> Described | None:
        # psycopg's Column has precision and scale of numerics.
        return [(c.name, _type(c)) for c in describe_query(conn, sql).description]

    def instant_bounds(self, start: dt.datetime, end: dt.datetime) -> tuple[Any, Any]:
        return start, end  # compared as timestamptz, zone included

    def scanner_settings(self) -> Sequence[str]:
        return ["SET pg_use_binary_copy = true"]  # binary COPY: no text parsing

    def scanner_attach(self, url: URL, alias: str,
                       statement_timeout_s: float | None = None) -> Sequence[str]:
        conninfo = libpq_conninfo(url, statement_timeout_s)
        return [f"ATTACH {literal(conninfo)} AS {alias} (TYPE postgres, READ_ONLY)"]


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


def _type(column: Any) -> SaType:
    oid = int(column.type_code)
    if oid == _NUMERIC:
        return sa.Numeric(column.precision, column.scale)
    if oid in _ARRAYS:
        return sa.ARRAY(_SCALARS[_ARRAYS[oid]]())
    factory = _SCALARS.get(oid)
    # Unknown oids (enums, inet, money, ...) are read as the server's text, like a table's.
    return factory() if factory is not None else sa.types.NullType()
