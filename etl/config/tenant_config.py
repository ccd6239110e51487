"""Typed, strict models for a tenant's ``config.yaml`` and ``etl/common/pipelines.yaml``.

Each block has its own module (``source``, ``storage``, ``schedule``, ``pipeline``); the
``warehouse:`` block is a union of the registered warehouse kinds (:mod:`etl.warehouse.registry`).
Secrets never appear here: only the *names* of environment variables that hold them.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from etl.config.alerts import AlertsConfig
from etl.config.freshness import FreshnessConfig
from etl.config.pipeline import (
    COMMON_TRANSFER_PREFIX,
    DEFAULT_TRANSFER,
    TENANT_TRANSFER_PREFIX,
    AssetsConfig,
    PipelineAssetConfig,
    TransferConfig,
)
from etl.config.reconcile import ReconcileConfig
from etl.config.runs import RunsConfig
from etl.config.schedule import BackfillConfig, ScheduleConfig
from etl.config.source import SourceConfig
from etl.config.storage import StorageConfig
from etl.model.base import FieldError, Identifier, StrictModel, TagValue
from etl.model.env_vars import EXAMPLE_SUFFIX, env_fields, env_prefix
from etl.warehouse.registry import WarehouseConfig

__all__ = [
    "COMMON_TRANSFER_PREFIX",
    "DEFAULT_TRANSFER",
    "TENANT_TRANSFER_PREFIX",
    "AlertsConfig",
    "AssetsConfig",
    "BackfillConfig",
    "CommonPipelines",
    "PipelineAssetConfig",
    "ReconcileConfig",
    "RunsConfig",
    "ScheduleConfig",
    "SourceConfig",
    "StorageConfig",
    "TenantConfig",
    "TenantInfo",
    "TransferConfig",
    "WarehouseConfig",
]


_OWNER = re.compile(r"^([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,7}|team:[A-Za-z0-9_.-]+)$")


class TenantInfo(StrictModel):
    id: Identifier = Field(description="Tenant id; must equal the tenant's folder name.")
    name: str = Field(description="Human-readable tenant name shown in descriptions and tags.")
    description: str = Field(default="", description="Free text about the customer site.")
    owners: tuple[str, ...] = Field(
        default=(),
        description="Who answers for the tenant's assets: emails or 'team:<name>' (Dagster's).",
    )

    @field_validator("owners")
    @classmethod
    def _owners(cls, owners: tuple[str, ...]) -> tuple[str, ...]:
        for owner in owners:
            if not _OWNER.match(owner):
                raise ValueError(f"owner {owner!r} is neither an email address nor "
                                 "'team:<name>' (e.g. team:data_eng)")
        return owners


class TenantConfig(StrictModel):
    """A tenant's whole ``config.yaml``."""

    tenant: TenantInfo = Field(description="Who the tenant is.")
    source: SourceConfig = Field(description="The tenant's application database.")
    storage: StorageConfig = Field(description="Where Parquet files are written.")
    warehouse: WarehouseConfig = Field(description="Where loaded tables live.")
    schedule: ScheduleConfig = Field(description="Daily schedule and partition start.")
    backfill: BackfillConfig = Field(
        default_factory=BackfillConfig, description="How ranges of days are run and read."
    )
    runs: RunsConfig = Field(
        default_factory=RunsConfig, description="Queueing, retries and time limits of runs."
    )
    reconcile: ReconcileConfig = Field(
        default_factory=ReconcileConfig,
        description="Comparing the loaded days with the source, and healing those that differ.",
    )
    tags: dict[Identifier, TagValue] = Field(
        default_factory=dict,
        description=(
            "Tags put on every asset and job of the tenant; values are up to 63 letters, "
            "digits, '_', '.' or '-' (Dagster's rule for tag values)."
        ),
    )
    freshness: FreshnessConfig = Field(
        default_factory=FreshnessConfig,
        description="By when each day is due; a pipeline's own freshness block replaces it.",
    )
    assets: AssetsConfig = Field(default_factory=AssetsConfig, description="Pipelines.")
    alerts: AlertsConfig = Field(
        default_factory=AlertsConfig,
        description=(
            "Messages about failed runs, failed blocking checks and missed deadlines; "
            "defaults from etl/common/alerts.yaml."
        ),
    )

    @model_validator(mode="after")
    def _own_variables(self) -> TenantConfig:
        """Every ``*_env`` field names one of this tenant's variables (see
        :mod:`etl.model.env_vars`), so no config can send another tenant's secret away."""
        tenant, prefix = self.tenant.id, env_prefix(self.tenant.id)
        for at, variable in env_fields(self):
            if not variable.startswith(prefix):
                raise FieldError(at, (
                    f"names the environment variable {variable}, which is not tenant "
                    f"{tenant!r}'s: a tenant names only variables that start with its id in "
                    f"upper case, {prefix} (e.g. {prefix}{EXAMPLE_SUFFIX}); rename the variable"))
        return self

    @model_validator(mode="after")
    def _lake_reachable_by_warehouse(self) -> TenantConfig:
        if self.warehouse.needs_object_storage and not self.storage.is_s3:
            raise FieldError(("storage", "root"), (
                f"warehouse type {self.warehouse.type!r} reads the lake itself, so the lake "
                f"must be on S3: write s3://bucket/prefix, not the local folder "
                f"{self.storage.root!r}"))
        return self

    @model_validator(mode="after")
    def _load_modes_of_the_warehouse(self) -> TenantConfig:
        modes, kind = self.warehouse.load_modes, self.warehouse.type
        for index, pipeline in enumerate(self.assets.pipelines):
            mode, at = pipeline.load_mode, ("assets", "pipelines", index, "load_mode")
            if mode is None or mode in modes:
                continue
            if not modes:
                raise FieldError(at, (
                    f"warehouse type {kind!r} loads one way and has no load modes; remove "
                    f"load_mode (got {mode!r})"))
            listed = " or ".join(map(repr, modes))
            raise FieldError(at, f"warehouse type {kind!r} loads as {listed}, not {mode!r}")
        return self

    @model_validator(mode="after")
    def _incremental_needs_a_merge(self) -> TenantConfig:
        for index, pipeline in enumerate(self.assets.pipelines):
            if not (pipeline.enabled and pipeline.is_incremental and pipeline.save_to_trino):
                continue
            refusal = self.warehouse.merge_refusal(pipeline.load_mode)
            if refusal is not None:
                field = "load_mode" if pipeline.load_mode is not None else "mode"
                raise FieldError(("assets", "pipelines", index, field), (
                    f"mode: incremental merges the changed rows by primary_key, but {refusal}"))
        return self

    @model_validator(mode="after")
    def _tables_the_warehouse_can_load(self) -> TenantConfig:
        """The warehouse kind's own rules on the loaded pipelines (its seam:
        :meth:`~etl.warehouse.base.WarehouseConfigBase.pipeline_problems`)."""
        loaded = [(i, p) for i, p in enumerate(self.assets.pipelines)
                  if p.enabled and p.save_to_trino]
        for index, problem in self.warehouse.pipeline_problems(
                [(p.name, p.load_mode) for _, p in loaded]):
            at, pipeline = loaded[index]
            raise FieldError(("assets", "pipelines", at, "name"),
                             f"pipeline {pipeline.name!r}: {problem}")
        return self

    def freshness_of(self, pipeline: PipelineAssetConfig) -> FreshnessConfig:
        return pipeline.freshness or self.freshness

    @property
    def tenant_id(self) -> str:
        return self.tenant.id

    @property
    def warehouse_schema(self) -> str:
        return self.warehouse.schema_for(self.tenant.id)


class CommonPipelines(StrictModel):
    """``etl/common/pipelines.yaml``: pipelines every tenant inherits."""

    pipelines: tuple[PipelineAssetConfig, ...] = Field(
        description="Pipelines shared by every tenant."
    )
