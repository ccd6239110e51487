"""What a load asks of a warehouse, and the schema-drift rules every warehouse shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:  # code locations import this module; pyarrow is needed by runs only
    import pyarrow as pa
    import pyarrow.dataset as pads

PARTITION_COLUMN = "dt"
LoadMode = Literal["external", "iceberg"]
DriftPolicy = Literal["add_columns", "fail"]


class WarehouseError(RuntimeError):
    """A load failed; the message names the table and the cause."""


class SchemaDriftError(WarehouseError):
    """The data no longer fits the table in a way the pipeline's policy does not allow."""


@dataclass(frozen=True)
class LoadRequest:
    """Load one day (``partition_key``) or, for master data, the whole table."""

    tenant: str
    table: str
    partition_key: str | None
    data: pads.Dataset
    data_uri: str
    dataset_uri: str
    mode: LoadMode | None
    schema_drift: DriftPolicy


@dataclass(frozen=True)
class LoadResult:
    table: str
    rows: int
    added_columns: tuple[str, ...] = ()


class Warehouse(Protocol):
    def load(self, request: LoadRequest) -> LoadResult: ...

    def count_rows(self, tenant: str, table: str, partition_key: str | None,
                   mode: LoadMode | None) -> int: ...


def plan_columns(
    table: str,
    existing: Mapping[str, str],
    incoming: Mapping[str, str],
    policy: DriftPolicy,
) -> list[str]:
    """Columns to add to ``table``; raises on any change the policy does not allow.

    Types are compared as the warehouse spells them, so "narrowed" and "changed" both fail
    with both types named; a dropped column fails because readers would silently get NULLs.
    """
    dropped = [c for c in existing if c not in incoming and c != PARTITION_COLUMN]
    if dropped:
        raise SchemaDriftError(
            f"table {table}: column(s) {dropped} exist in the table but not in the new data; "
            "restore them in the source query or migrate the table by hand"
        )
    for name, typ in incoming.items():
        if name in existing and existing[name].lower() != typ.lower():
            raise SchemaDriftError(
                f"table {table}: column {name!r} is {existing[name]} in the table but {typ} in "
                "the new data; incompatible type change"
            )
    added = [c for c in incoming if c not in existing]
    if added and policy == "fail":
        raise SchemaDriftError(
            f"table {table}: new column(s) {added} in the data and schema_drift is 'fail'; "
            "set schema_drift: add_columns to add them"
        )
    return added


def check_no_partition_column(table: str, schema: pa.Schema) -> None:
    if PARTITION_COLUMN in schema.names:
        raise WarehouseError(
            f"table {table}: the data has a column named {PARTITION_COLUMN!r}, which is reserved "
            "for the day partition; rename it in the source query"
        )
