"""MySQL and MariaDB: the DuckDB ``mysql_scanner``, exact types, described queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL
from sqlalchemy.sql import sqltypes

from etl.sources.dialects.base import Described, Dialect, SaType, Scanner
from etl.sources.dialects.describe import describe_query
from etl.sources.errors import SourceError
from etl.sources.fingerprint import utc_offsets
from etl.utils.sql import literal

_INTS: dict[int, type[mysql.types._IntegerType]] = {
    1: mysql.TINYINT, 2: mysql.SMALLINT, 9: mysql.MEDIUMINT, 3: mysql.INTEGER, 8: mysql.BIGINT,
}
_OTHER: dict[int, Callable[[], SaType]] = {
    4: mysql.FLOAT, 5: mysql.DOUBLE, 7: mysql.TIMESTAMP, 12: mysql.DATETIME, 10: sa.Date,
    14: sa.Date, 11: mysql.TIME, 13: mysql.YEAR, 245: sa.JSON, 247: sa.String, 248: sa.String,
}
_DECIMALS = (0, 246)
_STRINGS = (15, 249, 250, 251, 252, 253, 254)
_BIT = 16
_BINARY_CHARSET = 63
_UNSIGNED_FLAG = 32
_URL_OPTIONS = {"ssl_mode": "SSL_MODE", "ssl_ca": "SSL_CA", "ssl_capath": "SSL_CAPATH",
                "ssl_cert": "SSL_CERT", "ssl_key": "SSL_KEY", "ssl_cipher": "SSL_CIPHER"}
_IGNORED_OPTIONS = {"charset"}  # the scanner always talks utf8mb4


class MySQL(Dialect):
    names: ClassVar[tuple[str, ...]] = ("mysql", "mariadb")
    label: ClassVar[str] = "MySQL/MariaDB"
    transient_errors: ClassVar[tuple[str, ...]] = (
        r"lost connection", r"can't connect to (mysql|mariadb)", r"server has gone away",
        r"too many connections",
    )
    permanent_errors: ClassVar[tuple[str, ...]] = (
        r"access denied", r"unknown (column|table|database)",
    )
    scanner: ClassVar[Scanner | None] = Scanner(
        "duckdb_extension_mysql_scanner", "mysql_scanner", "mysql_query"
    )
    casts: ClassVar[bool] = True

    def connect_args(self, connect_timeout_s: int,
                     statement_timeout_s: float | None = None) -> dict[str, object]:
        # TIMESTAMP values arrive in UTC, as in the DuckDB reader (MySQL converts them to the
        # session zone, which otherwise is the server's).
        return {"connect_timeout": connect_timeout_s, "init_command": "SET time_zone = '+00:00'"}

    def configure_session(self, dbapi_connection: Any, statement_timeout_s: float) -> None:
        """MariaDB calls it max_statement_time (seconds), MySQL max_execution_time (ms)."""
        cursor = dbapi_connection.cursor()
        try:
            try:
                cursor.execute(f"SET SESSION max_statement_time = {float(statement_timeout_s)}")
            except Exception:  # MySQL: no such variable
                cursor.execute(
                    f"SET SESSION max_execution_time = {int(statement_timeout_s * 1000)}")
        finally:
            cursor.close()

    def integer_width(self, t: SaType) -> int:
        return 8 if isinstance(t, mysql.TINYINT) else super().integer_width(t)

    def is_instant(self, t: SaType) -> bool:
        return isinstance(t, mysql.TIMESTAMP) or super().is_instant(t)

    def needs_text_cast(self, t: SaType) -> bool:
        if isinstance(t, sqltypes.Interval | sqltypes.JSON | sqltypes.Uuid | mysql.SET):
            return True
        if isinstance(t, sqltypes.Time):  # TIME is a -838..838 h span: no Arrow time type
            return True
        # Binary collations (MariaDB's JSON is LONGTEXT ... utf8mb4_bin) read as BLOB in DuckDB.
        return isinstance(t, sqltypes.String) and str(
            getattr(t, "collation", None) or "").endswith("_bin")

    def column_types(self, conn: sa.Connection, table: sa.Table) -> dict[str, SaType]:
        """MariaDB's JSON is LONGTEXT with a ``json_valid`` check: reflected as text, it is
        told apart by that check (MySQL's own JSON type reflects as JSON)."""
        types = super().column_types(conn, table)
        candidates = [n for n, t in types.items() if isinstance(t, mysql.LONGTEXT)
                      and str(getattr(t, "collation", None) or "").endswith("_bin")]
        for name in _json_checked(conn, table, candidates):
            types[name] = sa.JSON()
        return types

    def describe(self, conn: sa.Connection, sql: str) -> Described | None:
        found = describe_query(conn, sql)
        description, fields = found.description, found.fields
        out: Described = []
        for i, col in enumerate(description):
            field = fields[i] if fields is not None and len(fields) == len(description) else None
            out.append((str(col[0]), _type(int(col[1]), col, field)))
        return out

    def begin_snapshot(self, conn: sa.Connection) -> bool:
        conn.execution_options(isolation_level="REPEATABLE READ")
        conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        return True

    def row_hash(self, columns: Sequence[sa.ColumnElement[Any]],
                 server: tuple[int, ...] = ()) -> sa.ColumnElement[Any] | None:
        """The first 60 bits of the row's MD5 (over its values' text, NULL marked), unsigned."""
        null: sa.ColumnElement[Any] = sa.literal_column("CHAR(0 USING utf8mb4)")
        texts = [sa.func.coalesce(sa.cast(c, sa.CHAR), null) for c in columns]
        joined = sa.func.concat_ws(sa.literal_column("CHAR(31 USING utf8mb4)"), *texts)
        head = sa.func.substring(sa.func.md5(joined), sa.literal_column("1"),
                                 sa.literal_column("15"))
        value = sa.func.conv(head, sa.literal_column("16"), sa.literal_column("10"))
        return sa.cast(value, mysql.BIGINT(unsigned=True))

    def row_checksum(self, columns: Sequence[sa.ColumnElement[Any]],
                     server: tuple[int, ...] = ()) -> sa.ColumnElement[Any] | None:
        """The exact sum of the rows' hashes, a DECIMAL, as text."""
        hashed = self.row_hash(columns, server)
        return sa.cast(sa.func.sum(sa.cast(hashed, mysql.DECIMAL(20, 0))), sa.CHAR)

    def day_key(self, column: sa.ColumnElement[Any], kind: str, timezone: str,
                start: dt.datetime, end: dt.datetime) -> sa.ColumnElement[Any] | None:
        """Instants arrive as UTC (the session runs at +00:00); they are moved by the zone's
        offset at that instant (a CASE over the window's DST changes: MySQL's named zones need
        time-zone tables a server may not have loaded)."""
        if kind == "instant":
            offsets = utc_offsets(timezone, start, end)
            minutes: sa.ColumnElement[Any] = sa.literal_column(str(offsets[-1][1]))
            if len(offsets) > 1:
                minutes = sa.case(*[
                    (column < sa.literal_column(literal(at.strftime("%Y-%m-%d %H:%M:%S"))),
                     sa.literal_column(str(offset)))
                    for (at, _), (_, offset) in zip(offsets[1:], offsets, strict=False)],
                    else_=minutes)
            column = sa.func.timestampadd(sa.literal_column("MINUTE"), minutes, column)
        return sa.func.date(column)

    def instant_bounds(self, start: dt.datetime, end: dt.datetime) -> tuple[Any, Any]:
        # Sessions run at +00:00, so instants are compared as naive UTC.
        return start.replace(tzinfo=None), end.replace(tzinfo=None)

    def scanner_settings(self) -> Sequence[str]:
        return [
            "SET mysql_session_time_zone = '+00:00'",
            "SET mysql_tinyint1_as_boolean = false",  # TINYINT(1) holds -128..127: keep int8
            "SET mysql_bit1_as_boolean = true",
        ]

    def scanner_attach(self, url: URL, alias: str,
                       statement_timeout_s: float | None = None) -> Sequence[str]:
        # A temporary secret: the scanner's connection-string parser cannot carry passwords
        # with spaces or quotes.
        return [
            f"CREATE TEMPORARY SECRET {alias}_secret ({mysql_secret_options(url)})",
            f"ATTACH '' AS {alias} (TYPE mysql, SECRET {alias}_secret, READ_ONLY)",
        ]


def mysql_secret_options(url: URL) -> str:
    options: dict[str, str | int | None] = {
        "TYPE": "mysql", "HOST": url.host or "localhost", "PORT": url.port or 3306,
        "USER": url.username, "DATABASE": url.database,
        "PASSWORD": url.password if isinstance(url.password, str) else None,
    }
    for key, value in url.query.items():
        if key in _IGNORED_OPTIONS:
            continue
        if key not in _URL_OPTIONS:
            raise SourceError(
                f"URL option {key!r} is not supported by the DuckDB MySQL reader; "
                f"supported: {sorted(_URL_OPTIONS)} (or use engine: sqlalchemy)"
            )
        options[_URL_OPTIONS[key]] = value if isinstance(value, str) else value[-1]
    return ", ".join(
        f"{k} {v if isinstance(v, int) or k == 'TYPE' else literal(str(v))}"
        for k, v in options.items() if v is not None
    )


def _json_checked(conn: sa.Connection, table: sa.Table, candidates: list[str]) -> list[str]:
    if not candidates:
        return []
    try:
        rows = conn.execute(sa.text(
            "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
            "WHERE CONSTRAINT_SCHEMA = COALESCE(:schema, DATABASE()) AND TABLE_NAME = :table"),
            {"schema": table.schema, "table": table.name}).all()
    except sa.exc.SQLAlchemyError:  # MySQL's CHECK_CONSTRAINTS has no TABLE_NAME
        conn.rollback()
        return []
    checked = {str(clause).replace("`", "").replace(" ", "").lower() for _, clause in rows}
    return [n for n in candidates if f"json_valid({n.lower()})" in checked]


def _type(code: int, col: Sequence[Any], field: Any) -> SaType | None:
    unsigned = bool(getattr(field, "flags", 0) & _UNSIGNED_FLAG)
    if code in _INTS:
        return _INTS[code](unsigned=unsigned)
    if code in _DECIMALS:
        scale = int(col[5] or 0)
        precision = int(col[4] or 0) - (1 if scale else 0) - (0 if unsigned else 1)
        return mysql.DECIMAL(precision=max(precision, 1), scale=scale)
    if code == _BIT:
        return mysql.BIT(int(col[4] or 1))
    if code in _OTHER:
        return _OTHER[code]()
    if code in _STRINGS and field is not None:
        if getattr(field, "charsetnr", None) == _BINARY_CHARSET:
            return sa.LargeBinary()
        # Text of any collation: NullType is "read the server's text", so it is always cast
        # to CHAR; binary collations (utf8mb4_bin) would otherwise read as BLOB in DuckDB.
        return sa.types.NullType()
    return None
