"""The contract every warehouse kind fulfils, and the schema-drift rules they share.

A warehouse kind is one module (``etl/warehouse/<kind>.py`` or a package of that name) that
provides:

* a config model, subclass of :class:`WarehouseConfigBase`, whose ``type`` literal is the
  ``warehouse.type`` value users write, with its ``asset_kind`` and a ``build_resource``;
* a resource, subclass of :class:`WarehouseResource`, whose secret fields are declared with
  :func:`etl.utils.secrets.secret_field` (so redaction finds them);
* a loader returned by ``resource.warehouse()`` that satisfies :class:`Warehouse`.

Register the config model in :mod:`etl.warehouse.registry`; the config union, the resource
factory, the asset kinds and secret redaction all come from there.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

import dagster as dg
from pydantic import Field

from etl import naming
from etl.model.base import FieldProblem, Identifier, StrictModel

if TYPE_CHECKING:  # code locations import this module; pyarrow is needed by runs only
    import pyarrow as pa
    import pyarrow.dataset as pads

LoadMode = str
"""One of the load modes a warehouse kind declares (``load_modes``), e.g. Trino's ``iceberg``."""
DriftPolicy = Literal["add_columns", "fail"]
"""What a load does when the data's columns differ from the table's (:func:`plan_columns`)."""


class WarehouseError(RuntimeError):
    """A load failed; the message names the table and the cause."""


class SchemaDriftError(WarehouseError):
    """The data no longer fits the table in a way the pipeline's policy does not allow."""


@dataclass(frozen=True)
class LoadRequest:
    """Replace some days of a daily table, or the whole table for master data.

    ``data`` holds the rows: for daily loads a dataset over one file per day, with the day as
    a ``date`` column named ``partition_column`` (from the ``<column>=YYYY-MM-DD`` folders);
    ``schema`` is the files' own schema, without it. ``dataset_uri`` is the stage's folder,
    where Hive tables can read the files in place.
    """

    table: str
    days: tuple[str, ...] | None
    schema: pa.Schema
    data: pads.Dataset
    dataset_uri: str
    mode: LoadMode | None
    schema_drift: DriftPolicy
    partition_column: str = naming.PARTITION_COLUMN
    # The same files as paths on this machine when the lake is a local folder (else empty), so
    # an embedded warehouse can read them itself; and whether they all have ``schema`` exactly.
    local_paths: tuple[str, ...] = ()
    uniform_schema: bool = True

    def folder(self, day: str | None) -> str:
        """The URI of the folder holding one day's file (or the master file)."""
        return f"{self.dataset_uri.rstrip('/')}/{naming.partition_dir(day, self.partition_column)}/"


@dataclass(frozen=True)
class LoadResult:
    """What the table holds after the load: rows per loaded day (or ``rows`` for master)."""

    table: str
    rows: int
    rows_by_day: dict[str, int]
    added_columns: tuple[str, ...] = ()
    statements: int = 0  # warehouse statements the load ran (constant in the number of days)


DeleteMode = Literal["off", "hard", "soft"]


@dataclass(frozen=True)
class LakeFile:
    """One Parquet file of the lake, for a warehouse to read: as a dataset, by its folder's URI
    (a Trino staging table) and, for a local lake, by its path on this machine."""

    data: pads.Dataset
    schema: pa.Schema
    folder_uri: str
    local_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class MergeRequest:
    """Merge an incremental run's changed rows into a table by ``key`` (``mode: incremental``).

    ``full``: the rows are the whole table (a first run or a full refresh) and replace it.
    ``keys``: every key at the source, read before the changes; the table's rows whose key is
    not among them were deleted there and are deleted (``hard``) or get ``deleted_at`` (``soft``)
    before the changes are merged, so a row inserted after the key read is never taken for one.
    """

    table: str
    key: tuple[str, ...]
    rows: LakeFile
    full: bool
    mode: LoadMode | None
    schema_drift: DriftPolicy
    deletes: DeleteMode = "off"
    keys: LakeFile | None = None


@dataclass(frozen=True)
class MergeResult:
    table: str
    rows: int  # rows of the table after the merge
    merged: int  # rows of the table whose key is among the merged rows'
    deleted: int  # rows deleted, or newly marked deleted
    added_columns: tuple[str, ...] = ()
    statements: int = 0


class Warehouse(Protocol):
    """The loader of one tenant's schema: replace days (or a master table), count rows.

    A load costs a number of statements that does not grow with the number of days.
    """

    def load(self, request: LoadRequest) -> LoadResult: ...

    def merge(self, request: MergeRequest) -> MergeResult:
        """Merge changed rows by key (kinds whose ``merge_refusal`` is None for the mode)."""
        ...

    def count_days(self, table: str, days: Sequence[str], mode: LoadMode | None,
                   partition_column: str = naming.PARTITION_COLUMN) -> dict[str, int]:
        """Rows per day (0 for a day without rows, or a table that does not exist yet)."""
        ...

    def count_all(self, table: str, mode: LoadMode | None) -> int:
        """Rows of the whole table (0 if it does not exist yet)."""
        ...


class WarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """A Dagster resource that hands out the loader of one tenant's schema."""

    @abstractmethod
    def warehouse(self) -> Warehouse:
        """The loader; heavy clients (DuckDB, trino) are imported here, not at load time."""


class WarehouseConfigBase(StrictModel):
    """What every ``warehouse:`` block has; each kind narrows ``type`` to its own literal."""

    type: str = Field(description="Which warehouse kind this is.")
    schema_name: Identifier | None = Field(
        default=None, description="Schema for the tenant's tables (default: the tenant id)."
    )

    asset_kind: ClassVar[str]
    """The Dagster ``kind`` shown on load assets."""
    needs_object_storage: ClassVar[bool] = False
    """Whether the warehouse reads the lake itself, so the lake must be on S3."""
    example: ClassVar[dict[str, Any]]
    """A minimal valid ``warehouse:`` block of this kind (the docs and tests use it)."""
    load_modes: ClassVar[tuple[LoadMode, ...]] = ()
    """The ``load_mode`` values a pipeline may choose on this kind (none: it has one way)."""
    transient_errors: ClassVar[tuple[str, ...]] = ()
    """Patterns (regular expressions, case-insensitive) of this kind's errors that another
    try may get past: the server starting up, a lost coordinator (:mod:`etl.stages.retries`)."""
    permanent_errors: ClassVar[tuple[str, ...]] = ()
    """Patterns of this kind's errors no retry can fix: a refused request, bad SQL."""

    def schema_for(self, tenant: str) -> str:
        return naming.warehouse_schema(tenant, self.schema_name)

    @abstractmethod
    def build_resource(self, tenant: str) -> WarehouseResource:
        """The tenant's warehouse resource; secrets as ``dg.EnvVar`` (read when a run starts)."""

    @abstractmethod
    def target(self, tenant: str) -> tuple[str, ...]:
        """Where the tenant's tables live; two tenants sharing it would overwrite each other."""

    @abstractmethod
    def describe(self, tenant: str) -> str:
        """Where the tables are, as people read it (``/path/warehouse.duckdb (schema x)``)."""

    def effective_mode(self, mode: LoadMode | None) -> LoadMode | None:
        """The mode a pipeline that chose ``mode`` (None: none) loads in: a kind with load
        modes has a default one."""
        return mode

    def merge_refusal(self, mode: LoadMode | None) -> str | None:
        """Why a pipeline loading in ``mode`` (None: the default) cannot merge rows by key
        (``mode: incremental``), or None when the loader's ``merge`` can."""
        return f"warehouse type {self.type!r} cannot merge rows into a table by key"

    def pipeline_problems(self, loads: Sequence[tuple[str, LoadMode | None]]
                          ) -> list[tuple[int, str]]:
        """What this kind cannot load among ``loads`` (each loaded pipeline's name and
        ``load_mode``), as (index into ``loads``, message): names the tables a kind makes
        itself would take, say. Checked when the config loads."""
        return []

    def local_files(self) -> dict[str, Path]:
        """The files this kind writes on this machine, resolved, by the field that names each
        (an embedded database's file); none for a server. No tenant's lake folder may hold
        one (:mod:`etl.config.targets`)."""
        return {}

    def probe(self, tenant: str, modes: frozenset[LoadMode | None], timeout_s: float,
              ) -> list[FieldProblem]:
        """Connect within ``timeout_s`` and check what loads in ``modes`` need (``etl validate
        --connect``; None is the warehouse's default mode); secrets come from the environment
        and never appear in a problem."""
        return []


def plan_columns(
    table: str,
    existing: Mapping[str, str],
    incoming: Mapping[str, str],
    policy: DriftPolicy,
    partition_column: str = naming.PARTITION_COLUMN,
) -> list[str]:
    """Columns to add to ``table``; raises on any change the policy does not allow.

    Types are compared as the warehouse spells them, so "narrowed" and "changed" both fail
    with both types named; a dropped column fails because readers would silently get NULLs.
    """
    dropped = [c for c in existing if c not in incoming and c != partition_column]
    if dropped:
        raise SchemaDriftError(
            f"table {table}: column(s) {dropped} exist in the table but not in the new data; "
            "restore them in the source query or migrate the table by hand"
        )
    for name, typ in incoming.items():
        if name in existing and existing[name].lower() != typ.lower():
            raise SchemaDriftError(
                f"table {table}: column {name!r} is {existing[name]} in the table but {typ} in "
                "the new data; incompatible type change (to read it as before, choose its type "
                "with column_types: in the pipeline, e.g. string; or migrate the table by hand)"
            )
    added = [c for c in incoming if c not in existing]
    if added and policy == "fail":
        raise SchemaDriftError(
            f"table {table}: new column(s) {added} in the data and schema_drift is 'fail'; "
            "set schema_drift: add_columns to add them"
        )
    return added


def merge_columns(table: str, existing: Mapping[str, str], incoming: Mapping[str, str],
                  request: MergeRequest) -> list[str]:
    """Columns to add for a merge: the drift rules, the soft-delete column aside."""
    from etl.naming import DELETED_AT_COLUMN

    if DELETED_AT_COLUMN in incoming and request.deletes == "soft":
        raise WarehouseError(f"table {table}: the source has a column {DELETED_AT_COLUMN!r}, "
                             "which deletes: {mode: soft} adds itself; rename it in a query")
    kept = {c: t for c, t in existing.items()
            if not (c == DELETED_AT_COLUMN and c not in incoming)}
    return plan_columns(table, kept, incoming, request.schema_drift)


def required_columns(request: LoadRequest) -> set[str]:
    """Columns the table can declare NOT NULL: the source's NOT NULL columns (required Parquet
    fields) and a daily table's day column."""
    required = {f.name for f in request.schema if not f.nullable}
    return required | ({request.partition_column} if request.days is not None else set())


def check_no_partition_column(request: LoadRequest) -> None:
    """The extract refuses such a column before writing (the same check): this guards files
    written otherwise (by an older version, or a transfer stage)."""
    if request.days is None:
        return
    clash = naming.partition_clash(request.schema.names, request.partition_column)
    if clash is not None:
        message = naming.partition_clash_message(clash, request.partition_column)
        raise WarehouseError(f"table {request.table}: {message}")
