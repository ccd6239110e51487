"""Which Arrow type each source column becomes, decided once for both readers.

Both readers (DuckDB's scanners and the generic SQLAlchemy path) take the column types from the
same SQLAlchemy reflection and ask :func:`column_type`, so a table lands in Parquet with the
same schema whichever reader moved it. Where a driver or scanner would lose information, the
column is read differently *in the source database* (a cast, or an expression), both readers
read that, and Arrow turns it into the column's type afterwards (:mod:`etl.sources.convert`):
nothing is rounded or truncated on the way. A value that does not fit fails the stage, naming
the column, the value and the two ways out (``column_types:`` or a cast in a ``query``).

=====================  ==========================  =============================================
source type            Arrow type                  why
=====================  ==========================  =============================================
smallint/int/bigint    int16 / int32 / int64       width kept (SQLite integers are all int64)
MySQL tinyint, medium  int8 / int32                TINYINT(1) ("BOOLEAN") stays int8: it holds
                                                   -128..127, so reading it as bool would lose
MySQL unsigned         uint8..uint64               the Parquet writer widens them to int16,
                                                   int32, int64, decimal(20,0): no value lost
numeric(p,s), p <= 38  decimal128(p, s)            exact, never float
numeric (no p/s),      decimal128(38, min(s, 9))   read as the server's text, converted exactly;
numeric(p>38, s)                                   a value needing more digits fails the stage
                                                   (``column_types:`` picks another decimal or
                                                   string)
real / MySQL float     float32                     as stored
double precision       float64
boolean, MySQL BIT(1)  bool
MySQL BIT(n), YEAR     uint64 / int32              BIT(n) cast to UNSIGNED in the source
text/varchar           string
PG char(n)             string                      pad blanks kept, as PostgreSQL returns them
                                                   (MySQL strips them itself when it reads CHAR)
date                   date32
time (PG)              time64[us]
timetz, MySQL TIME     string (cast to text)       an offset / a -838..838 h span has no Arrow
                                                   time type
timestamp, datetime    timestamp[us]               wall-clock, never shifted
timestamptz, MySQL     timestamp[us, UTC]          instants; the MySQL session is +00:00
TIMESTAMP
interval (PG)          struct<months: int32,       PostgreSQL's own three fields, read as text
                       days: int32,                in the source and split exactly; a generic
                       microseconds: int64>        driver's timedelta gives months 0
json/jsonb             string, ``etl.type: json``  the server's text, not a re-serialisation
MySQL *_bin text       string (cast to CHAR)       MariaDB's JSON is LONGTEXT utf8mb4_bin,
                                                   which DuckDB would read as a BLOB
bytea/blob/binary      binary
uuid                   string, ``etl.type: uuid``  canonical 8-4-4-4-12 lower case
enum                   string, ``etl.type: enum``  the labels in ``etl.values``, source order
MySQL SET              string (cast to text)       'a,b' as MySQL prints it (the driver: a set)
1-D arrays (PG)        list<element type>          element mapped as above; arrays of types
                                                   that need a cast become text
anything else          string (cast to text)       inet, money, bit(n), xml, ...: the server's
                                                   own text form
=====================  ==========================  =============================================

``etl.type`` and ``etl.values`` are Arrow field metadata (:mod:`etl.utils.logical_types`), kept
in the Parquet file: warehouses give those columns their own types. Casts apply to dialects
that map types exactly (PostgreSQL and MySQL/MariaDB, ``Dialect.casts``); other dialects
(SQLite, MSSQL, Oracle) keep the driver's values, converted to the planned type without loss or
not at all. What differs per dialect (integer widths, which datetimes are instants, which types
need a text cast) is asked of the dialect (:mod:`etl.sources.dialects`). Custom queries get the
same mapping from their result description.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.sql import sqltypes

from etl.model.column_types import ColumnTypeChoice
from etl.utils.logical_types import INTERVAL, Logical, metadata

if TYPE_CHECKING:
    from etl.sources.dialects.base import Dialect

MAX_DECIMAL_PRECISION = 38
DEFAULT_SCALE = 9
DEFAULT_DECIMAL = pa.decimal128(MAX_DECIMAL_PRECISION, DEFAULT_SCALE)

SourceExpression = Callable[[sa.ColumnElement[Any]], sa.ColumnElement[Any]]
_TEXT = sa.Text()
_UNSIGNED = mysql.BIGINT(unsigned=True)
_SIGNED = {8: pa.int8(), 16: pa.int16(), 32: pa.int32(), 64: pa.int64()}
_UNSIGNED_ARROW = {8: pa.uint8(), 16: pa.uint16(), 32: pa.uint32(), 64: pa.uint64()}


@dataclass(frozen=True)
class ColumnType:
    """The Arrow type of one column and how to read it exactly.

    ``cast`` (or ``expression``) is applied in the source; ``read`` is the Arrow type the
    readers deliver when it is not ``arrow`` yet, converted afterwards without loss
    (:mod:`etl.sources.convert`).
    """

    arrow: pa.DataType
    cast: sa.types.TypeEngine[Any] | None = None
    read: pa.DataType | None = None
    expression: SourceExpression | None = None
    logical: Logical | None = None
    values: tuple[str, ...] = ()  # an enum's labels

    @property
    def delivered(self) -> pa.DataType:
        """What the readers hand over for this column."""
        return self.read or self.arrow

    @property
    def in_source(self) -> bool:
        """Whether the source computes something else than the bare column."""
        return self.cast is not None or self.expression is not None

    def field(self, name: str, nullable: bool = True) -> pa.Field:
        return pa.field(name, self.arrow, nullable,
                        metadata=metadata(self.logical, self.values))


def column_type(t: sa.types.TypeEngine[Any], dialect: Dialect) -> ColumnType:
    """Map a reflected SQLAlchemy type; see the module docstring for the table."""
    logical, values = _logical(t)
    if isinstance(t, sqltypes._AbstractInterval):
        return _interval(t, dialect)
    expression = dialect.read_expression(t) if dialect.casts else None
    if expression is not None:
        return ColumnType(pa.string(), expression=expression, logical=logical, values=values)
    mapped = _native(t, dialect)
    if mapped is not None:
        if dialect.casts and dialect.needs_text_cast(t):
            return ColumnType(pa.string(), _TEXT, logical=logical, values=values)
        return replace(mapped, logical=logical, values=values)
    if isinstance(t, sqltypes.Numeric) and not isinstance(t, sqltypes.Float):
        return _numeric(t, dialect.casts)
    if isinstance(t, sqltypes.ARRAY):
        item = column_type(t.item_type, dialect)
        if not item.in_source and item.read is None and not pa.types.is_null(item.arrow):
            return ColumnType(pa.list_(item.arrow))
    return ColumnType(pa.string(), _TEXT if dialect.casts else None, logical=logical)


def chosen_type(choice: ColumnTypeChoice, dialect: Dialect) -> ColumnType:
    """The pipeline's ``column_types`` choice: the server's text, or a decimal parsed from it."""
    text = _TEXT if dialect.casts else None
    if choice.precision is None:
        return ColumnType(pa.string(), text)
    target = pa.decimal128(choice.precision, choice.scale)
    return ColumnType(target, text, read=pa.string()) if text is not None else ColumnType(target)


def needs_text_conversion(arrow: pa.DataType, column_type: sa.types.TypeEngine[Any]) -> bool:
    """Values that Python drivers hand back as objects Arrow will not take as text (JSON, UUID)."""
    return pa.types.is_string(arrow) and not isinstance(column_type, sqltypes.String)


def _logical(t: sa.types.TypeEngine[Any]) -> tuple[Logical | None, tuple[str, ...]]:
    if isinstance(t, sqltypes.Uuid):
        return "uuid", ()
    if isinstance(t, sqltypes.JSON):
        return "json", ()
    if isinstance(t, sqltypes.Enum) and not isinstance(t, mysql.SET):
        return "enum", tuple(str(v) for v in t.enums)
    return None, ()


def _interval(t: sa.types.TypeEngine[Any], dialect: Dialect) -> ColumnType:
    """PostgreSQL's months/days/microseconds, or a driver's timedelta (months 0)."""
    expression = dialect.read_expression(t) if dialect.casts else None
    if expression is None:
        return ColumnType(INTERVAL, read=pa.duration("us"), logical="interval")
    return ColumnType(INTERVAL, read=pa.string(), expression=expression, logical="interval")


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
    if isinstance(t, sqltypes._Binary):
        return ColumnType(pa.binary())
    if isinstance(t, sqltypes.String | sqltypes.Enum | sqltypes.JSON | sqltypes.Uuid):
        return ColumnType(pa.string())
    return None


def _numeric(t: sqltypes.Numeric[Any], casts: bool) -> ColumnType:
    """Exact when the type bounds its digits; else 38 digits, read as text and checked."""
    precision, scale = t.precision, t.scale or 0
    if precision is not None and precision <= MAX_DECIMAL_PRECISION:
        return ColumnType(pa.decimal128(precision, scale))
    wide = min(scale, DEFAULT_SCALE) if precision is not None else DEFAULT_SCALE
    target = pa.decimal128(MAX_DECIMAL_PRECISION, wide)
    return ColumnType(target, _TEXT, read=pa.string()) if casts else ColumnType(target)
