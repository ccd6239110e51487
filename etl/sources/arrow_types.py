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

Casts apply to dialects that map types exactly (PostgreSQL and MySQL/MariaDB, ``Dialect.casts``);
other dialects (SQLite, MSSQL, Oracle) keep the driver's values and unknown types are
stringified by the SQLAlchemy reader. What differs per dialect (integer widths, which datetimes
are instants, which types need a text cast) is asked of the dialect
(:mod:`etl.sources.dialects`). Custom queries get the same mapping from their result
description.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.sql import sqltypes

if TYPE_CHECKING:
    from etl.sources.dialects.base import Dialect

MAX_DECIMAL_PRECISION = 38
DEFAULT_DECIMAL = pa.decimal128(38, 9)

_TEXT = sa.Text()
_DEFAULT_NUMERIC = sa.Numeric(38, 9)
_UNSIGNED = mysql.BIGINT(unsigned=True)
_SIGNED = {8: pa.int8(), 16: pa.int16(), 32: pa.int32(), 64: pa.int64()}
_UNSIGNED_ARROW = {8: pa.uint8(), 16: pa.uint16(), 32: pa.uint32(), 64: pa.uint64()}


@dataclass(frozen=True)
class ColumnType:
    """The Arrow type of one column and the source-side cast needed to read it exactly."""

    arrow: pa.DataType
    cast: sa.types.TypeEngine[Any] | None = None


def column_type(t: sa.types.TypeEngine[Any], dialect: Dialect) -> ColumnType:
    """Map a reflected SQLAlchemy type; see the module docstring for the table."""
    mapped = _native(t, dialect)
    if mapped is not None:
        if dialect.casts and dialect.needs_text_cast(t):
            return ColumnType(pa.string(), _TEXT)
        return mapped
    if isinstance(t, sqltypes.Numeric) and not isinstance(t, sqltypes.Float):
        return _numeric(t, dialect.casts)
    if isinstance(t, sqltypes.ARRAY):
        item = column_type(t.item_type, dialect)
        if item.cast is None and not pa.types.is_null(item.arrow):
            return ColumnType(pa.list_(item.arrow))
    return ColumnType(pa.string(), _TEXT if dialect.casts else None)


def needs_text_conversion(arrow: pa.DataType, column_type: sa.types.TypeEngine[Any]) -> bool:
    """Values that Python drivers hand back as objects Arrow will not take as text (JSON, UUID)."""
    return pa.types.is_string(arrow) and not isinstance(column_type, sqltypes.String)


def _native(t: sa.types.TypeEngine[Any], dialect: Dialect) -> ColumnType | None:
    """Types with a direct Arrow equivalent (``None``: numeric, arrays and the rest)."""
    if isinstance(t, sqltypes.Boolean) or (isinstance(t, mysql.BIT) and t.length == 1):
        return ColumnType(pa.bool_())
    if isinstance(t, mysql.BIT):
        return ColumnType(pa.uint64(), _UNSIGNED)
    if isinstance(t, sqltypes.Integer):
        table = _UNSIGNED_ARROW if getattr(t, "unsigned", False) else _SIGNED
        return ColumnType(table[dialect.integer_width(t)])
    if isinstance(t, mysql.YEAR):
        return ColumnType(pa.int32())
    if isinstance(t, sqltypes.Float):
        single = isinstance(t, sqltypes.REAL | mysql.FLOAT) and not isinstance(t, sqltypes.Double)
        return ColumnType(pa.float32() if single else pa.float64())
    if isinstance(t, sqltypes.DateTime):
        return ColumnType(pa.timestamp("us", tz="UTC" if dialect.is_instant(t) else None))
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


def _numeric(t: sqltypes.Numeric[Any], casts: bool) -> ColumnType:
    precision, scale = t.precision, t.scale or 0
    if precision is None:
        return ColumnType(DEFAULT_DECIMAL, _DEFAULT_NUMERIC if casts else None)
    if precision > MAX_DECIMAL_PRECISION:
        return ColumnType(pa.string(), _TEXT if casts else None)
    return ColumnType(pa.decimal128(precision, scale))
