"""Which Arrow type each source column becomes, decided once for both readers.

Both readers (DuckDB's scanners and the generic SQLAlchemy path) take the column types from the
same SQLAlchemy reflection and ask :func:`column_type`, so a table lands in Parquet with the
same schema whichever reader moved it. Where a driver or scanner would lose information, the
column is cast *in the source database* (``cast``), and both readers read that cast.

=====================  ==========================  =============================================
source type            Arrow type                  why
=====================  ==========================  =============================================
smallint/int/bigint    int16 / int32 / int64       width kept (SQLite integers are all int64)
MySQL tinyint, medium  int8 / int32                TINYINT(1) ("BOOLEAN") stays int8: it holds
                                                   -128..127, so reading it as bool would lose
MySQL unsigned         uint8..uint64               the Parquet writer widens them to int16,
                                                   int32, int64, decimal(20,0): no value lost
numeric(p,s), p <= 38  decimal128(p, s)            exact, never float
numeric(p,s), p > 38   string (cast to text)       decimal128 holds 38 digits; text is exact
numeric (no p/s)       decimal128(38, 9)           cast to numeric(38,9) in the source (rounds
                                                   past 9 decimals); DuckDB would read double
real / MySQL float     float32                     as stored
double precision       float64
boolean, MySQL BIT(1)  bool
MySQL BIT(n), YEAR     uint64 / int32              BIT(n) cast to UNSIGNED in the source
text/varchar/char      string                      PG char(n) is cast to text, which drops the
                                                   pad blanks (MySQL drops them on read anyway)
date                   date32
time (PG)              time64[us]
timetz, MySQL TIME     string (cast to text)       an offset / a -838..838 h span has no Arrow
                                                   time type
timestamp, datetime    timestamp[us]               wall-clock, never shifted
timestamptz, MySQL     timestamp[us, UTC]          instants; the MySQL session is +00:00
TIMESTAMP
interval (PG)          string (cast to text)       months and days do not fit a duration
json/jsonb             string (cast to text)       the server's text, not a re-serialisation
MySQL *_bin text       string (cast to CHAR)       MariaDB's JSON is LONGTEXT utf8mb4_bin,
                                                   which DuckDB would read as a BLOB
bytea/blob/binary      binary
uuid                   string (cast to text)       canonical 8-4-4-4-12 lower case
enum                   string
MySQL SET              string (cast to text)       'a,b' as MySQL prints it (the driver: a set)
1-D arrays (PG)        list<element type>          element mapped as above; arrays of types
                                                   that need a cast become text
anything else          string (cast to text)       inet, money, bit(n), xml, ...: the server's
                                                   own text form
=====================  ==========================  =============================================

Casts apply to PostgreSQL and MySQL/MariaDB only; other dialects (SQLite, MSSQL, Oracle) keep
the driver's values and unknown types are stringified by the SQLAlchemy reader. Custom queries
get the same mapping from their result description (:mod:`etl.sources.describe`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.sql import sqltypes

MAX_DECIMAL_PRECISION = 38
DEFAULT_DECIMAL = pa.decimal128(38, 9)
CAST_DIALECTS = frozenset({"postgresql", "mysql", "mariadb"})

_TEXT = sa.Text()
_DEFAULT_NUMERIC = sa.Numeric(38, 9)
_UNSIGNED = mysql.BIGINT(unsigned=True)


@dataclass(frozen=True)
class ColumnType:
    """The Arrow type of one column and the source-side cast needed to read it exactly."""

    arrow: pa.DataType
    cast: sa.types.TypeEngine[Any] | None = None


def column_type(t: sa.types.TypeEngine[Any], dialect: str = "default") -> ColumnType:
    """Map a reflected SQLAlchemy type; see the module docstring for the table."""
    casts = dialect in CAST_DIALECTS
    mapped = _native(t, dialect)
    if mapped is not None:
        if casts and _needs_text_cast(t, dialect):
            return ColumnType(pa.string(), _TEXT)
        return mapped
    if isinstance(t, sqltypes.Numeric) and not isinstance(t, sqltypes.Float):
        return _numeric(t, casts)
    if isinstance(t, sqltypes.ARRAY):
        item = column_type(t.item_type, dialect)
        if item.cast is None and not pa.types.is_null(item.arrow):
            return ColumnType(pa.list_(item.arrow))
    return ColumnType(pa.string(), _TEXT if casts else None)


def arrow_type(t: sa.types.TypeEngine[Any], dialect: str = "default") -> pa.DataType:
    """The Arrow type a column is written as; unknown types fall back to text."""
    return column_type(t, dialect).arrow


def needs_text_conversion(arrow: pa.DataType, column_type: sa.types.TypeEngine[Any]) -> bool:
    """Values that Python drivers hand back as objects Arrow will not take as text (JSON, UUID)."""
    return pa.types.is_string(arrow) and not isinstance(column_type, sqltypes.String)


def _native(t: sa.types.TypeEngine[Any], dialect: str) -> ColumnType | None:
    """Types with a direct Arrow equivalent (``None``: numeric, arrays and the rest)."""
    if isinstance(t, sqltypes.Boolean) or (isinstance(t, mysql.BIT) and t.length == 1):
        return ColumnType(pa.bool_())
    if isinstance(t, mysql.BIT):
        return ColumnType(pa.uint64(), _UNSIGNED)
    if isinstance(t, sqltypes.Integer):
        return ColumnType(_integer(t, dialect))
    if isinstance(t, mysql.YEAR):
        return ColumnType(pa.int32())
    if isinstance(t, sqltypes.Float):
        single = isinstance(t, sqltypes.REAL | mysql.FLOAT) and not isinstance(t, sqltypes.Double)
        return ColumnType(pa.float32() if single else pa.float64())
    if isinstance(t, sqltypes.DateTime):
        aware = bool(getattr(t, "timezone", False))
        if dialect in ("mysql", "mariadb") and isinstance(t, mysql.TIMESTAMP):
            aware = True
        return ColumnType(pa.timestamp("us", tz="UTC" if aware else None))
    if isinstance(t, sqltypes.Date):
        return ColumnType(pa.date32())
    if isinstance(t, sqltypes.Time):
        return ColumnType(pa.time64("us"))
    if isinstance(t, sqltypes.Interval):
        return ColumnType(pa.duration("us"))
    if isinstance(t, sqltypes._Binary):
        return ColumnType(pa.binary())
    if isinstance(t, sqltypes.String | sqltypes.Enum):
        return ColumnType(pa.string())
    return None


def _integer(t: sa.types.TypeEngine[Any], dialect: str) -> pa.DataType:
    unsigned = bool(getattr(t, "unsigned", False))
    if dialect == "sqlite":
        return pa.int64()
    if isinstance(t, mysql.TINYINT):
        return pa.uint8() if unsigned else pa.int8()
    if isinstance(t, sqltypes.SmallInteger):
        return pa.uint16() if unsigned else pa.int16()
    if isinstance(t, sqltypes.BigInteger):
        return pa.uint64() if unsigned else pa.int64()
    return pa.uint32() if unsigned else pa.int32()


def _numeric(t: sqltypes.Numeric[Any], casts: bool) -> ColumnType:
    precision, scale = t.precision, t.scale or 0
    if precision is None:
        return ColumnType(DEFAULT_DECIMAL, _DEFAULT_NUMERIC if casts else None)
    if precision > MAX_DECIMAL_PRECISION:
        return ColumnType(pa.string(), _TEXT if casts else None)
    return ColumnType(pa.decimal128(precision, scale))


def _needs_text_cast(t: sa.types.TypeEngine[Any], dialect: str) -> bool:
    """Types whose native mapping would differ between the readers or lose information."""
    if isinstance(t, sqltypes.Interval | sqltypes.JSON | sqltypes.Uuid | mysql.SET):
        return True
    if isinstance(t, sqltypes.Time):
        return bool(getattr(t, "timezone", False)) or dialect != "postgresql"
    if dialect == "postgresql":
        return isinstance(t, sqltypes.CHAR)
    if isinstance(t, sqltypes.String):
        # Binary collations (MariaDB's JSON is LONGTEXT ... utf8mb4_bin) read as BLOB in DuckDB.
        return str(getattr(t, "collation", None) or "").endswith("_bin")
    return False
