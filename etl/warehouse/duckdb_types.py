"""Arrow schema -> DuckDB column types: the same user-facing schema as Trino's two modes.

DuckDB would map a Parquet file's types on its own (int16 to ``SMALLINT``, a uuid's text to
``VARCHAR``); the load casts each column instead, so a table has the same types whichever
warehouse holds it: integers narrower than 64 bits as ``INTEGER`` (Iceberg has nothing
narrower), instants as ``TIMESTAMP WITH TIME ZONE``, ``TIME``, ``UUID`` and ``JSON`` for the
columns the extractor tagged (:mod:`etl.utils.logical_types`), an interval as its struct.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pyarrow as pa

from etl.utils.logical_types import is_json, is_uuid
from etl.utils.sql import quote
from etl.warehouse.base import WarehouseError

_SIMPLE: Final[list[tuple[Callable[[pa.DataType], bool], str]]] = [
    (pa.types.is_boolean, "BOOLEAN"),
    (lambda t: pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_int32(t), "INTEGER"),
    (pa.types.is_int64, "BIGINT"),
    (pa.types.is_float32, "FLOAT"),
    (pa.types.is_float64, "DOUBLE"),
    (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t),
     "VARCHAR"),
    (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t)
     or pa.types.is_fixed_size_binary(t), "BLOB"),
    (lambda t: pa.types.is_date32(t) or pa.types.is_date64(t), "DATE"),
    (pa.types.is_time, "TIME"),
]
# Types of tables loaded before these mappings, widened in place (lossless) on the next load.
UPGRADES: Final = frozenset({("TINYINT", "INTEGER"), ("SMALLINT", "INTEGER"),
                             ("VARCHAR", "UUID"), ("VARCHAR", "JSON")})


def duckdb_type(field: pa.Field) -> str:
    """The DuckDB type of a lake column, as ``information_schema`` spells it."""
    if is_uuid(field):
        return "UUID"
    if is_json(field):
        return "JSON"
    return _type(field.type, field.name)


def _type(typ: pa.DataType, column: str) -> str:
    if pa.types.is_dictionary(typ):
        return _type(typ.value_type, column)
    for test, name in _SIMPLE:
        if test(typ):
            return name
    if pa.types.is_decimal(typ) and typ.precision <= 38:
        return f"DECIMAL({typ.precision},{typ.scale})"
    if pa.types.is_timestamp(typ):
        return "TIMESTAMP WITH TIME ZONE" if typ.tz else "TIMESTAMP"
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return f"{_type(typ.value_type, column)}[]"
    if pa.types.is_struct(typ):
        return "STRUCT(" + ", ".join(f"{quote(f.name)} {_type(f.type, column)}"
                                     for f in typ) + ")"
    raise WarehouseError(f"column {column!r} has Arrow type {typ}, which has no DuckDB column type "
                         "here; cast it in a transfer")


def select_list(schema: pa.Schema) -> list[str]:
    """``CAST(<column> AS <type>) AS <column>`` for every column of the files."""
    return [f"CAST({quote(f.name)} AS {duckdb_type(f)}) AS {quote(f.name)}" for f in schema]
