"""Arrow schema -> Trino column types, in the two forms a load needs, and safe SQL spellings.

Trino's Hive connector reads the Parquet files in place but cannot declare every type users
should see: a ``time`` column reads as ``bigint`` (microseconds since midnight), an instant as
``timestamp(6)`` (UTC wall time, with ``hive.parquet.time-zone=UTC``), a uuid is text. So there
are two forms of every column:

* the **raw** type a Hive table declares over the files (external mode's ``<table>__raw``,
  Iceberg mode's staging table), and
* the **user** type: what the external view and the Iceberg table show, the same in both modes
  (``time(6)``, ``timestamp(6) with time zone``, ``uuid``, every integer narrower than 64 bits
  as ``integer``, since Iceberg has nothing narrower), reached from the raw one by
  :func:`user_expression`.

JSON stays ``varchar`` in both: Iceberg has no json type (and an Iceberg view's columns must be
Iceberg types), and Trino's JSON functions take varchar. Types are spelled as Trino's
``information_schema.columns`` prints them (see :func:`spelling`), so schema drift compares like
with like.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Literal

import pyarrow as pa

from etl.utils.logical_types import is_uuid
from etl.utils.sql import quote
from etl.warehouse.base import WarehouseError

Form = Literal["raw", "user"]

NAME_RE: Final = re.compile(r"^[a-z][a-z0-9_]*$")
COLUMN_RE: Final = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_DECIMAL_PRECISION: Final = 38

_SIMPLE: Final[list[tuple[Callable[[pa.DataType], bool], str]]] = [
    (pa.types.is_boolean, "boolean"),
    (lambda t: pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_int32(t), "integer"),
    (pa.types.is_int64, "bigint"),
    (pa.types.is_float32, "real"),
    (pa.types.is_float64, "double"),
    (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "varchar"),
    (lambda t: pa.types.is_null(t), "varchar"),
    (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t)
     or pa.types.is_fixed_size_binary(t), "varbinary"),
    (lambda t: pa.types.is_date32(t) or pa.types.is_date64(t), "date"),
]
_TIME_OF_DAY = "CAST(from_unixtime_nanos({} * 1000) AT TIME ZONE 'UTC' AS time(6))"


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


def trino_type(typ: pa.DataType, form: Form, column: str, uuid: bool = False) -> str:
    """The Trino type of a Parquet column of Arrow type ``typ`` (``uuid``: tagged as one)."""
    if pa.types.is_dictionary(typ):
        return trino_type(typ.value_type, form, column, uuid)
    if uuid and form == "user" and pa.types.is_string(typ):
        return "uuid"
    for test, name in _SIMPLE:
        if test(typ):
            return name
    if pa.types.is_decimal(typ) and typ.precision <= MAX_DECIMAL_PRECISION:
        return f"decimal({typ.precision},{typ.scale})"
    if pa.types.is_timestamp(typ):
        zoned = typ.tz is not None and form == "user"
        return "timestamp(6) with time zone" if zoned else "timestamp(6)"
    if pa.types.is_time(typ):
        return "time(6)" if form == "user" else "bigint"
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return f"array({trino_type(typ.value_type, form, column)})"
    if pa.types.is_struct(typ):
        fields = [f"{_field_name(f.name, column)} {trino_type(f.type, form, column)}"
                  for f in typ]
        return f"row({', '.join(fields)})"
    raise WarehouseError(
        f"column {column!r} has Arrow type {typ}, which Trino cannot read from Parquet; "
        "supported: booleans, integers, float/double, decimal(p<=38,s), string, binary, date, "
        "time, timestamp, lists and structs of these. Cast it (e.g. to varchar) in a transfer"
    )


def column_types(schema: pa.Schema, form: Form, table: str) -> dict[str, str]:
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
        columns[name] = spelling(trino_type(field.type, form, field.name, is_uuid(field)))
    return columns


def user_columns(schema: pa.Schema) -> list[str]:
    """``<user expression> AS <column>`` for every column of a raw Hive table over ``schema``."""
    return [f"{user_expression(quote(f.name.lower()), f.type, is_uuid(f))} "
            f"AS {quote(f.name.lower())}" for f in schema]


def user_expression(expr: str, typ: pa.DataType, uuid: bool = False, depth: int = 0) -> str:
    """The SQL turning a raw column (``expr``) into its user type."""
    if pa.types.is_dictionary(typ):
        return user_expression(expr, typ.value_type, uuid, depth)
    if uuid and pa.types.is_string(typ):
        return f"CAST({expr} AS uuid)"
    if pa.types.is_timestamp(typ) and typ.tz:
        return f"with_timezone({expr}, 'UTC')"
    if pa.types.is_time(typ):
        return _TIME_OF_DAY.format(expr)
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        var = f"x{depth}"
        inner = user_expression(var, typ.value_type, depth=depth + 1)
        return expr if inner == var else f"transform({expr}, {var} -> {inner})"
    if pa.types.is_struct(typ):
        parts = [user_expression(f"{expr}.{quote(f.name)}", f.type, depth=depth + 1)
                 for f in typ]
        if all(p == f"{expr}.{quote(f.name)}" for p, f in zip(parts, typ, strict=True)):
            return expr
        row = trino_type(typ, "user", expr)
        return f"IF({expr} IS NULL, NULL, CAST(ROW({', '.join(parts)}) AS {row}))"
    return expr


def _field_name(name: str, column: str) -> str:
    if not COLUMN_RE.match(name):
        raise WarehouseError(
            f"column {column!r} has a struct field {name!r}, which is not a plain lower-case "
            "name Trino can declare; rename it in a transfer"
        )
    return name
