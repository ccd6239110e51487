"""One pipeline (``PipelineAssetConfig``): a source table or query and its stages."""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from etl.checks.config import ChecksConfig
from etl.config.freshness import FreshnessConfig
from etl.config.incremental import DURATION, DeletesConfig, PipelineMode
from etl.model.base import ColumnName, FieldError, Identifier, SourceIdentifier, StrictModel
from etl.model.column_types import ColumnTypeSpec
from etl.model.sizes import checked_size
from etl.naming import PARTITION_COLUMN
from etl.warehouse.base import DriftPolicy
from etl.warehouse.registry import load_mode_names

COMMON_TRANSFER_PREFIX: Final = "common:"
TENANT_TRANSFER_PREFIX: Final = "tenant:"
DEFAULT_TRANSFER: Final = "common:standardize"
_TRANSFER_REF = re.compile(r"^(common|tenant):[A-Za-z_][A-Za-z0-9_]*$")
TRANSFER_MEMORY_LIMIT: Final = "512MB"
TRANSFER_MAX_TEMP_SIZE: Final = "4GB"
TRANSFER_TIMEOUT_S: Final = 600.0

# Any mode some warehouse kind declares, for editors; TenantConfig checks the tenant's own kind.
LoadMode = Annotated[Identifier, WithJsonSchema({"enum": list(load_mode_names()),
                                                 "type": "string"})]


class TransferConfig(StrictModel):
    """How a pipeline's extracted data is reshaped before loading, within which limits."""

    function: str | None = Field(
        default=None,
        description=(
            "'common:<name>' for a function in etl/common/transfer.py, or "
            f"'tenant:<name>' for one in the tenant's assets/transfer.py (default "
            f"{DEFAULT_TRANSFER} unless 'sql' is set)."
        ),
    )
    sql: str | None = Field(
        default=None,
        description=(
            "One DuckDB SELECT (or WITH) query over a relation named 'source', e.g. "
            "SELECT ... FROM source. It runs sandboxed: no files, ATTACH, extensions or SET."
        ),
    )
    allow_external_access: bool = Field(
        default=False,
        description=(
            "Give a Python transfer function a DuckDB connection without the sandbox: it can "
            "then read and write files, ATTACH databases, install and load extensions and "
            "change settings. SQL transfers are always sandboxed."
        ),
    )

    memory_limit: str = Field(
        default=TRANSFER_MEMORY_LIMIT,
        description=(
            "DuckDB's memory limit for one transfer (e.g. 512MB, 2GB); what does not fit is "
            "spilled to temporary files, up to max_temp_size."
        ),
    )
    max_temp_size: str = Field(
        default=TRANSFER_MAX_TEMP_SIZE,
        description=(
            "Disk one transfer's DuckDB may fill with temporary files (spilled joins, sorts, "
            "aggregations), in a scratch folder of its own that is removed afterwards; a "
            "day's output rows past it (their size in memory) fail the day too."
        ),
    )
    timeout_s: float = Field(
        default=TRANSFER_TIMEOUT_S, gt=0, le=86_400,
        description=(
            "Seconds the transfer of one day (or of the master data) may take: the function, "
            "its DuckDB queries and writing the file. Past it the day fails."
        ),
    )

    @field_validator("memory_limit", "max_temp_size")
    @classmethod
    def _size(cls, value: str) -> str:
        return checked_size(value, "'512MB' or '4GB'")

    @field_validator("sql")
    @classmethod
    def _one_query(cls, sql: str | None) -> str | None:
        from etl.utils.duckdb_sandbox import check_transfer_query  # imports DuckDB: only here

        if sql is not None:
            check_transfer_query(sql)
        return sql

    @model_validator(mode="before")
    @classmethod
    def _default_function(cls, data: object) -> object:
        """A block with neither (only limits, say) runs the default transfer."""
        if isinstance(data, dict) and data.get("function") is None and data.get("sql") is None:
            return {**data, "function": DEFAULT_TRANSFER}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> TransferConfig:
        if self.function is not None and self.sql is not None:
            raise ValueError("set exactly one of 'function' or 'sql'")
        if self.sql is not None and self.allow_external_access:
            raise ValueError(
                "'allow_external_access' applies to Python transfer functions only; transfer "
                "SQL always runs sandboxed (write a tenant function if it needs files)"
            )
        if self.function is not None and not _TRANSFER_REF.match(self.function):
            raise ValueError(
                f"'function' must look like 'common:<name>' or 'tenant:<name>', got "
                f"{self.function!r}"
            )
        return self


class PipelineAssetConfig(StrictModel):
    """One source table or query and what happens to it: extract, transfer, load."""

    name: Identifier = Field(description="Pipeline name; the last part of its asset keys.")
    description: str = Field(default="", description="Shown on the assets in Dagster.")
    enabled: bool = Field(default=True, description="false disables an inherited pipeline.")
    table: SourceIdentifier | None = Field(
        default=None, description="Source table, optionally schema-qualified."
    )
    query: str | None = Field(
        default=None,
        description="Source SQL instead of a table; partitioned pipelines filter it by day.",
    )
    columns: tuple[ColumnName, ...] | None = Field(
        default=None, description="Columns to extract (default: all)."
    )
    date_column: ColumnName | None = Field(
        default=None,
        description="Column that assigns rows to a day; omit for unpartitioned master data.",
    )
    primary_key: tuple[ColumnName, ...] = Field(
        default=(), description="Key columns; the common transfer de-duplicates on them."
    )
    has_transfer: bool = Field(default=False, description="Run the transfer stage.")
    transfer: TransferConfig | None = Field(
        default=None, description=f"Which transfer to run (default {DEFAULT_TRANSFER})."
    )
    save_to_trino: bool = Field(default=False, description="Run the load stage.")
    load_mode: LoadMode | None = Field(
        default=None,
        description="How the warehouse loads the pipeline, where its kind has several ways "
                    "(Trino: external or iceberg; default: the warehouse's default_load_mode).",
    )
    schema_drift: DriftPolicy = Field(
        default="add_columns",
        description="New nullable source columns are added, or any change fails the load.",
    )
    batch_size: int | None = Field(
        default=None, ge=1_000, le=5_000_000, description="Overrides source.batch_size."
    )
    partition_column: Identifier = Field(
        default=PARTITION_COLUMN,
        description="Name of the day column of daily tables and lake folders (<name>=YYYY-MM-DD);"
                    " no source column may have it.",
    )
    column_types: dict[ColumnName, ColumnTypeSpec] = Field(
        default_factory=dict,
        description="Parquet type per source column instead of the default mapping: 'string' or "
                    "'decimal(p,s)', e.g. {n_free: 'decimal(38,20)'}; values must still fit.",
    )
    sensitive_columns: tuple[ColumnName, ...] = Field(
        default=(),
        description="Columns whose values never appear in check samples or other metadata.",
    )
    checks: ChecksConfig = Field(
        default_factory=ChecksConfig, description="Data-quality checks (etl/checks/)."
    )
    freshness: FreshnessConfig | None = Field(
        default=None, description="By when each day is due (default: the tenant's freshness)."
    )
    change_column: ColumnName | None = Field(
        default=None,
        description="A column that changes whenever a row does (e.g. updated_at): each day's "
                    "fingerprint at the source then covers primary_key and this column only, "
                    "which is cheaper than all columns (the default).",
    )
    mode: PipelineMode = Field(
        default="full",
        description="Master data: 'full' (default) copies the table every run; 'incremental' "
                    "reads the rows whose cursor_column moved and merges them by primary_key.",
    )
    cursor_column: ColumnName | None = Field(
        default=None,
        description="mode: incremental: a column that grows with every change of a row (e.g. "
                    "updated_at, or a version number).",
    )
    lag: int | str = Field(
        default=0,
        description="mode: incremental: each run reads from the last high-water mark minus "
                    "this, to catch rows committed late with an older cursor: a duration "
                    "('30s', '5m', '2h', '1d') for date and time cursors, a number for integer "
                    "cursors (default 0).",
    )
    deletes: DeletesConfig = Field(
        default_factory=DeletesConfig,
        description="mode: incremental: how rows deleted at the source are found and handled.",
    )

    @property
    def is_partitioned(self) -> bool:
        return self.date_column is not None

    @property
    def is_incremental(self) -> bool:
        return self.mode == "incremental"

    @property
    def fingerprint_columns(self) -> tuple[str, ...] | None:
        """What each day's fingerprint at the source covers (None: every extracted column)."""
        return (*self.primary_key, self.change_column) if self.change_column else None

    @field_validator("lag")
    @classmethod
    def _lag(cls, value: int | str) -> int | str:
        if isinstance(value, bool) or (isinstance(value, int) and value < 0):
            raise ValueError("lag must be a duration such as '5m' (date and time cursors) or a "
                             "non-negative integer (integer cursors)")
        if isinstance(value, str) and not DURATION.match(value):
            raise ValueError("not a duration; write a number and a unit s, m, h or d, e.g. "
                             "'5m', or a non-negative integer for an integer cursor")
        return value

    def has_stage(self, stage: str) -> bool:
        """Whether this pipeline has the ``extract``, ``transfer`` or ``load`` stage."""
        return {"extract": True, "transfer": self.has_transfer,
                "load": self.save_to_trino}[stage]

    @property
    def load_input_stage(self) -> Literal["extract", "transfer"]:
        """The stage whose Parquet the load reads: the transfer's when there is one."""
        return "transfer" if self.has_transfer else "extract"

    @property
    def last_stage(self) -> Literal["extract", "transfer", "load"]:
        """The stage a day is done at: the load, else the last Parquet stage."""
        return "load" if self.save_to_trino else self.load_input_stage

    @property
    def transfer_ref(self) -> TransferConfig:
        return self.transfer or TransferConfig(function=DEFAULT_TRANSFER)

    @model_validator(mode="after")
    def _consistent(self) -> PipelineAssetConfig:
        if (self.table is None) == (self.query is None):
            raise ValueError("set exactly one of 'table' or 'query'")
        if self.transfer is not None and not self.has_transfer:
            raise ValueError("'transfer' is set but has_transfer is false; set has_transfer: true")
        if self.columns is not None and self.date_column and self.date_column not in self.columns:
            raise ValueError(f"'columns' must include the date_column {self.date_column!r}")
        named = [c for c in (*(self.columns or ()), self.date_column or "")
                 if self.date_column and c.lower() == self.partition_column]
        if named:
            raise ValueError(
                f"source column {named[0]!r} has the name of the day partition column "
                f"{self.partition_column!r}; rename it in a 'query' or set another "
                "partition_column"
            )
        return self

    @model_validator(mode="after")
    def _incremental_fields(self) -> PipelineAssetConfig:
        """``change_column`` for daily pipelines; ``mode: incremental`` for master data."""
        keyed = self.change_column is not None or self.is_incremental
        named = (self.change_column, self.cursor_column, *(self.primary_key if keyed else ()))
        listed = [c for c in named
                  if c is not None and self.columns is not None and c not in self.columns]
        if listed:
            raise FieldError(("columns",), f"'columns' must include {listed[0]!r}, which the "
                             "pipeline's change_column, cursor_column or primary_key names")
        if self.change_column is not None and not (self.date_column and self.primary_key):
            raise FieldError(("change_column",), "'change_column' needs a date_column and a "
                             "primary_key: the daily fingerprint then covers the key and that "
                             "column")
        if not self.is_incremental:
            extra = [f for f, on in (("cursor_column", self.cursor_column is not None),
                                     ("lag", bool(self.lag)),
                                     ("deletes", self.deletes.mode != "off")) if on]
            if extra:
                raise FieldError((extra[0],), "'cursor_column', 'lag' and 'deletes' apply to "
                                 "mode: incremental; set mode: incremental or remove them")
            return self
        if self.date_column is not None:
            raise FieldError(("mode",), "mode: incremental is for tables without a date_column "
                             "(master data); a daily pipeline is kept equal to the source by "
                             "reconcile")
        if self.cursor_column is None or not self.primary_key:
            raise FieldError(("mode",), "mode: incremental needs a cursor_column (e.g. "
                             "updated_at) and a primary_key to merge the changed rows by")
        if self.has_transfer:
            raise FieldError(("has_transfer",), "mode: incremental loads the extracted rows as "
                             "they are; remove has_transfer (a transfer stage is not supported "
                             "with it)")
        return self


MAX_PIPELINES = 500
"""Pipelines of one tenant, inherited ones included. A tenant's code location builds three
assets and their checks per pipeline, and Dagster's cost of building and resolving them grows
with each: at this limit a location already takes seconds to load (``bench/config_scale.py``
prints the figures), while validating the config stays a fraction of a second even for a
5,000-pipeline file. A site with more tables is several tenants."""


class AssetsConfig(StrictModel):
    inherit: Literal["all", "none"] | tuple[Identifier, ...] = Field(
        default="all",
        description=(
            "Which common pipelines (etl/common/pipelines.yaml) the tenant inherits: 'all' "
            "(the default), 'none', or a list of their names."
        ),
    )
    pipelines: tuple[PipelineAssetConfig, ...] = Field(
        default=(),
        description=(
            "Pipelines added to, overriding (same name) or disabling the common ones; at most "
            "500, inherited ones included."
        ),
    )

    @field_validator("pipelines", mode="before")
    @classmethod
    def _not_too_many(cls, value: object) -> object:
        """Counted before any pipeline is validated, so a huge list costs nothing more."""
        if isinstance(value, list | tuple) and len(value) > MAX_PIPELINES:
            raise ValueError(
                f"{len(value):,} pipelines (inherited ones included); a tenant may have at "
                f"most {MAX_PIPELINES:,}, since its code location builds every pipeline's "
                "assets and checks when it loads: split the site into several tenants")
        return value

    @field_validator("inherit", mode="before")
    @classmethod
    def _inherit(cls, value: object) -> object:
        if value in ("all", "none") or isinstance(value, list | tuple):
            return value
        raise ValueError(
            "must be 'all', 'none' or a list of common pipelines' names, e.g. [work_order]"
        )

    @property
    def enabled(self) -> tuple[PipelineAssetConfig, ...]:
        return tuple(p for p in self.pipelines if p.enabled)
