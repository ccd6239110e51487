"""What a lake column means beyond its Arrow type: uuid, json, interval, enum.

Parquet keeps a uuid and a json document as text and an interval as a struct, so the source's
meaning travels beside the type, in the Arrow field's metadata (``etl.type``, and ``etl.values``
for an enum's labels). pyarrow stores field metadata in the Parquet file, so every later stage
finds it again: warehouses give such columns their own types (DuckDB ``UUID``/``JSON``, Trino
``uuid``), and Dagster's column schema shows it. A transfer's output keeps it for the columns
it passes through (:func:`carry`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Final, Literal

import pyarrow as pa

TYPE_KEY: Final = b"etl.type"
VALUES_KEY: Final = b"etl.values"
Logical = Literal["uuid", "json", "interval", "enum"]

INTERVAL: Final = pa.struct([
    pa.field("months", pa.int32()), pa.field("days", pa.int32()),
    pa.field("microseconds", pa.int64()),
])
"""An interval as PostgreSQL keeps it: months, days and microseconds, each signed and apart
(a month has no fixed number of days, a day no fixed number of microseconds across DST)."""


def metadata(logical: Logical | None, values: Sequence[str] = ()) -> dict[bytes, bytes] | None:
    """Field metadata recording ``logical`` (and an enum's labels, in the source's order)."""
    if logical is None:
        return None
    meta = {TYPE_KEY: logical.encode()}
    if values:
        meta[VALUES_KEY] = json.dumps(list(values), ensure_ascii=False).encode()
    return meta


def logical_type(field: pa.Field) -> str | None:
    raw = (field.metadata or {}).get(TYPE_KEY)
    return raw.decode() if raw is not None else None


def enum_values(field: pa.Field) -> tuple[str, ...]:
    raw = (field.metadata or {}).get(VALUES_KEY)
    return tuple(json.loads(raw)) if raw is not None else ()


def is_uuid(field: pa.Field) -> bool:
    return logical_type(field) == "uuid" and pa.types.is_string(field.type)


def is_json(field: pa.Field) -> bool:
    return logical_type(field) == "json" and pa.types.is_string(field.type)


def describe(field: pa.Field) -> str:
    """The type as Dagster's column schema shows it: ``string (uuid)``, ``string (enum)``."""
    logical = logical_type(field)
    return f"{field.type} ({logical})" if logical else str(field.type)


def carry(produced: pa.Schema, consumed: pa.Schema,
          rename: Callable[[str], str] = lambda name: name) -> pa.Schema:
    """``produced`` with the metadata of the ``consumed`` columns it passes through unchanged.

    A column passes through when ``produced`` has it under its name or under ``rename(name)``
    (the common transfer snake-cases names) with the same Arrow type; a computed column of
    another type is plain data.
    """
    known: dict[str, pa.Field] = {}
    for field in consumed:
        if field.metadata:
            known.setdefault(field.name, field)
            known.setdefault(rename(field.name), field)
    fields = []
    for field in produced:
        source = known.get(field.name)
        if source is not None and source.type == field.type and not field.metadata:
            field = field.with_metadata(source.metadata)
        fields.append(field)
    return pa.schema(fields, metadata=produced.metadata)
