"""Column types of a custom query, from the driver's result description.

Tables are reflected, but a query has no catalog entry: running it with ``LIMIT 0`` returns the
result description without rows, and the type codes there are turned into SQLAlchemy types so
:func:`etl.sources.arrow_types.column_type` decides a query's columns exactly as a table's.
Only PostgreSQL (psycopg) and MySQL/MariaDB (pymysql) are described; other dialects infer types
from the values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

SaType = sa.types.TypeEngine[Any]

_PG_SCALARS: dict[int, Callable[[], SaType]] = {
    16: sa.Boolean, 20: sa.BigInteger, 21: sa.SmallInteger, 23: sa.Integer,
    700: sa.REAL, 701: sa.Double, 25: sa.Text, 1043: sa.String, 1042: sa.CHAR,
    1082: sa.Date, 1083: sa.Time, 1266: lambda: sa.Time(timezone=True),
    1114: sa.DateTime, 1184: lambda: sa.DateTime(timezone=True),
    1186: postgresql.INTERVAL, 114: postgresql.JSON, 3802: postgresql.JSONB,
    17: sa.LargeBinary, 2950: sa.Uuid,
}
_PG_ARRAYS = {1000: 16, 1005: 21, 1007: 23, 1016: 20, 1009: 25, 1015: 1043, 1021: 700,
              1022: 701, 1182: 1082, 1115: 1114, 1185: 1184}
_PG_NUMERIC = 1700

_MY_INTS: dict[int, type[mysql.types._IntegerType]] = {
    1: mysql.TINYINT, 2: mysql.SMALLINT, 9: mysql.MEDIUMINT, 3: mysql.INTEGER, 8: mysql.BIGINT,
}
_MY_OTHER: dict[int, Callable[[], SaType]] = {
    4: mysql.FLOAT, 5: mysql.DOUBLE, 7: mysql.TIMESTAMP, 12: mysql.DATETIME, 10: sa.Date,
    14: sa.Date, 11: mysql.TIME, 13: mysql.YEAR, 245: sa.JSON, 247: sa.String, 248: sa.String,
}
_MY_DECIMALS = (0, 246)
_MY_STRINGS = (15, 249, 250, 251, 252, 253, 254)
_MY_BINARY_CHARSET = 63
_MY_UNSIGNED_FLAG = 32


def describe_query(conn: sa.Connection, sql: str) -> list[tuple[str, SaType | None]]:
    """(name, type) of each result column; ``None`` where the type code is not known."""
    result = conn.execute(sa.text(f"SELECT * FROM ({escape_colons(sql)}) AS q LIMIT 0"))
    try:
        cursor: Any = result.cursor
        if conn.dialect.name == "postgresql":  # psycopg's Column has precision and scale
            return [(c.name, _pg_type(c)) for c in cursor.description]
        fields = getattr(getattr(cursor, "_result", None), "fields", None)
        return _mysql_types(cursor.description, fields)
    finally:
        result.close()


def escape_colons(sql: str) -> str:
    """Stop SQLAlchemy's ``text()`` reading ``'10:30'`` or ``x::int`` as bind parameters."""
    return sql.replace(":", "\\:")


def _pg_type(column: Any) -> SaType:
    oid = int(column.type_code)
    if oid == _PG_NUMERIC:
        return sa.Numeric(column.precision, column.scale)
    if oid in _PG_ARRAYS:
        return sa.ARRAY(_PG_SCALARS[_PG_ARRAYS[oid]]())
    factory = _PG_SCALARS.get(oid)
    # Unknown oids (enums, inet, money, ...) are read as the server's text, like a table's.
    return factory() if factory is not None else sa.types.NullType()


def _mysql_types(
    description: Sequence[Sequence[Any]], fields: Sequence[Any] | None
) -> list[tuple[str, SaType | None]]:
    out: list[tuple[str, SaType | None]] = []
    for i, col in enumerate(description):
        field = fields[i] if fields is not None and len(fields) == len(description) else None
        out.append((str(col[0]), _mysql_type(int(col[1]), col, field)))
    return out


def _mysql_type(code: int, col: Sequence[Any], field: Any) -> SaType | None:
    unsigned = bool(getattr(field, "flags", 0) & _MY_UNSIGNED_FLAG)
    if code in _MY_INTS:
        return _MY_INTS[code](unsigned=unsigned)
    if code in _MY_DECIMALS:
        scale = int(col[5] or 0)
        precision = int(col[4] or 0) - (1 if scale else 0) - (0 if unsigned else 1)
        return mysql.DECIMAL(precision=max(precision, 1), scale=scale)
    if code == 16:
        return mysql.BIT(int(col[4] or 1))
    if code in _MY_OTHER:
        return _MY_OTHER[code]()
    if code in _MY_STRINGS and field is not None:
        if getattr(field, "charsetnr", None) == _MY_BINARY_CHARSET:
            return sa.LargeBinary()
        # Text of any collation: NullType is "read the server's text", so it is always cast
        # to CHAR; binary collations (utf8mb4_bin) would otherwise read as BLOB in DuckDB.
        return sa.types.NullType()
    return None
