"""SQLAlchemy column types to Arrow types, keeping decimals exact and timestamps in µs."""

from __future__ import annotations

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.sql import sqltypes

MAX_DECIMAL_PRECISION = 38
DEFAULT_DECIMAL = pa.decimal128(38, 9)


def arrow_type(column_type: sa.types.TypeEngine[object]) -> pa.DataType:
    """The Arrow type a column is written as; unknown types fall back to text."""
    t = column_type
    if isinstance(t, sqltypes.Boolean):
        return pa.bool_()
    if isinstance(t, sqltypes.SmallInteger):
        return pa.int16()
    if isinstance(t, sqltypes.BigInteger):
        return pa.int64()
    if isinstance(t, sqltypes.Integer):
        return pa.int64()
    if isinstance(t, sqltypes.Numeric) and not isinstance(t, sqltypes.Float):
        precision = getattr(t, "precision", None)
        scale = getattr(t, "scale", None) or 0
        if precision and precision <= MAX_DECIMAL_PRECISION:
            return pa.decimal128(precision, scale)
        return DEFAULT_DECIMAL
    if isinstance(t, sqltypes.Float):
        return pa.float64()
    if isinstance(t, sqltypes.DateTime):
        return pa.timestamp("us", tz="UTC" if getattr(t, "timezone", False) else None)
    if isinstance(t, sqltypes.Date):
        return pa.date32()
    if isinstance(t, sqltypes.Time):
        return pa.time64("us")
    if isinstance(t, sqltypes.Interval):
        return pa.duration("us")
    if isinstance(t, sqltypes._Binary):
        return pa.binary()
    return pa.string()


def needs_text_conversion(arrow: pa.DataType, column_type: sa.types.TypeEngine[object]) -> bool:
    """Values that Python drivers hand back as objects Arrow will not take as text (JSON, UUID)."""
    return pa.types.is_string(arrow) and not isinstance(column_type, sqltypes.String)
