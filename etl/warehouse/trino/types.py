"""Arrow schema -> Trino column types and safe SQL spellings for the Trino warehouse.

Two flavours, because the two connectors differ: the Hive connector reads the Parquet files in
place and has no ``timestamp with time zone`` or sub-32-bit integers in Iceberg's sense, while
Iceberg has no ``tinyint``/``smallint`` and keeps instants as ``timestamp(6) with time zone``.
Types are spelled exactly as Trino's ``information_schema.columns`` prints them, so schema
drift compares like with like.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Literal

import pyarrow as pa

from etl.warehouse.base import WarehouseError

Flavor = Literal["hive", "iceberg"]

NAME_RE: Final = re.compile(r"^[a-z][a-z0-9_]*$")
COLUMN_RE: Final = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_DECIMAL_PRECISION: Final = 38

_SIMPLE: Final[list[tuple[Callable[[pa.DataType], bool], str]]] = [
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_int32, "integer"),
    (pa.types.is_int64, "bigint"),
    (pa.types.is_float32, "real"),
    (pa.types.is_float64, "double"),
    (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "varchar"),
    (lambda t: pa.types.is_null(t), "varchar"),
    (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t)
     or pa.types.is_fixed_size_binary(t), "varbinary"),
    (lambda t: pa.types.is_date32(t) or pa.types.is_date64(t), "date"),
]


def check_name(kind: str, name: str) -> str:
    """Catalog, schema and table names: lower-case identifiers, so quoting is exact."""
    if not NAME_RE.match(name):
        raise WarehouseError(
            f"invalid Trino {kind} name {name!r}: it must match {NAME_RE.pattern}"
        )
    return name


def spelling(trino_type: str) -> str:
    """Canonical spelling: lower case and no blanks after commas, as information_schema has it."""
    return re.sub(r"\s*,\s*", ",", trino_type.strip().lower())


def trino_type(typ: pa.DataType, flavor: Flavor, column: str) -> str:
    """The Trino type a Parquet column of Arrow type ``typ`` is declared as."""
    if pa.types.is_dictionary(typ):
        return trino_type(typ.value_type, flavor, column)
    for test, name in _SIMPLE:
        if test(typ):
            return name
    if pa.types.is_int8(typ) or pa.types.is_int16(typ):
        if flavor == "iceberg":
            return "integer"
        return "tinyint" if pa.types.is_int8(typ) else "smallint"
    if pa.types.is_decimal(typ) and typ.precision <= MAX_DECIMAL_PRECISION:
        return f"decimal({typ.precision},{typ.scale})"
    if pa.types.is_timestamp(typ):
        # Hive cannot declare an instant; with hive.parquet.time-zone=UTC it reads UTC wall time.
        return "timestamp(6) with time zone" if typ.tz and flavor == "iceberg" else "timestamp(6)"
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return f"array({trino_type(typ.value_type, flavor, column)})"
    raise WarehouseError(
        f"column {column!r} has Arrow type {typ}, which Trino's Hive connector cannot read from "
        "Parquet; supported: booleans, integers, float/double, decimal(p<=38,s), string, "
        "binary, date, timestamp and lists of these. Cast it (e.g. to varchar) in a transfer"
    )


def column_types(schema: pa.Schema, flavor: Flavor, table: str) -> dict[str, str]:
    """``{lower-cased column: Trino type}``; Trino folds names to lower case, so check clashes."""
    columns: dict[str, str] = {}
    for field in schema:
        name = field.name.lower()
        if not COLUMN_RE.match(name):
            raise WarehouseError(
                f"table {table}: column {field.name!r} is not a valid Trino column name "
                f"({COLUMN_RE.pattern} after lower-casing); rename it in the source query or a "
                "transfer"
            )
        if name in columns:
            raise WarehouseError(
                f"table {table}: columns differ only by case ({name!r}); Trino folds names to "
                "lower case, so rename one of them"
            )
        columns[name] = trino_type(field.type, flavor, field.name)
    return columns


def iceberg_expression(expr: str, typ: pa.DataType, depth: int = 0) -> str:
    """Convert a value read by the Hive staging table to its Iceberg column type."""
    if pa.types.is_dictionary(typ):
        return iceberg_expression(expr, typ.value_type, depth)
    if pa.types.is_timestamp(typ) and typ.tz:
        return f"with_timezone({expr}, 'UTC')"
    if pa.types.is_int8(typ) or pa.types.is_int16(typ):
        return f"CAST({expr} AS integer)"
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        var = f"x{depth}"
        inner = iceberg_expression(var, typ.value_type, depth + 1)
        return expr if inner == var else f"transform({expr}, {var} -> {inner})"
    return expr
