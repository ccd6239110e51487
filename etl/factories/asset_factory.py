"""Assets of a tenant: ``extract`` always, ``transfer`` and ``load`` by pipeline config.

Every stage of every pipeline is its own asset (``<tenant>/<stage>/<name>``) with its own
materializations, metadata and checks. They are grouped into at most two subsettable
multi-assets per tenant (daily and master data), the way dagster-sling and dagster-dbt group a
whole replication or project: a stage job subsets one of them, and definitions for hundreds of
tenants build in seconds instead of minutes.
"""

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from etl import naming
from etl.common.assets.runner import StepInputs, run_pipelines
from etl.common.assets.transfer import TransferFunction
from etl.config.tenant_config import PipelineAssetConfig, TenantConfig

__all__ = ["TenantContext", "build_tenant_assets", "pipeline_specs"]


@dataclass(frozen=True)
class TenantContext:
    """What every pipeline of one tenant shares when its assets are built."""

    config: TenantConfig
    partitions_def: dg.PartitionsDefinition[str]
    tags: Mapping[str, str]

    @property
    def tenant(self) -> str:
        return self.config.tenant.id

    @property
    def warehouse_kind(self) -> str:
        return self.config.warehouse.asset_kind


def pipeline_specs(ctx: TenantContext, pipeline: PipelineAssetConfig) -> list[dg.AssetSpec]:
    tenant, name = ctx.tenant, pipeline.name
    extract_key = naming.asset_key(tenant, "extract", name)
    about = pipeline.description or f"{name} from {pipeline.table or 'a source query'}"
    specs = [
        dg.AssetSpec(
            extract_key, description=f"Extract: {about}",
            group_name=naming.group_name(tenant, "extract"),
            kinds={"sql", "parquet"}, tags=ctx.tags, skippable=True,
            metadata={"source": pipeline.table or pipeline.query or "",
                      "date_column": pipeline.date_column or "(unpartitioned)"},
        )
    ]
    upstream = extract_key
    if pipeline.has_transfer:
        transfer_key = naming.asset_key(tenant, "transfer", name)
        ref = pipeline.transfer_ref
        specs.append(dg.AssetSpec(
            transfer_key, deps=[upstream], description=f"Transfer: {about}",
            group_name=naming.group_name(tenant, "transfer"), kinds={"duckdb", "parquet"},
            tags=ctx.tags, skippable=True,
            metadata={"transfer": ref.function or "sql"},
        ))
        upstream = transfer_key
    if pipeline.save_to_trino:
        specs.append(dg.AssetSpec(
            naming.asset_key(tenant, "load", name), deps=[upstream], description=f"Load: {about}",
            group_name=naming.group_name(tenant, "load"), kinds={ctx.warehouse_kind},
            tags=ctx.tags, skippable=True,
            metadata={"table": naming.warehouse_table(name)},
        ))
    return specs


def check_specs(ctx: TenantContext, pipelines: Sequence[PipelineAssetConfig]
                ) -> list[dg.AssetCheckSpec]:
    """The row-count check of every load; a daily one is recorded against each day."""
    with warnings.catch_warnings():  # partitioned checks are the reason to use this release
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return _check_specs(ctx, pipelines)


def _check_specs(ctx: TenantContext, pipelines: Sequence[PipelineAssetConfig]
                 ) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            naming.RECONCILE_CHECK, asset=naming.asset_key(ctx.tenant, "load", p.name),
            blocking=True,
            partitions_def=ctx.partitions_def if p.is_partitioned else None,
            description=(
                "Warehouse rows for the day equal the rows of the day's Parquet."
                if p.is_partitioned else
                "Warehouse rows of the table equal the rows of the master Parquet."
            ),
        )
        for p in pipelines if p.save_to_trino
    ]


def backfill_policy(ctx: TenantContext) -> dg.BackfillPolicy:
    """One run over a whole range, or runs of at most ``backfill.days_per_run`` days."""
    days = ctx.config.backfill.days_per_run
    return dg.BackfillPolicy.single_run() if days is None else dg.BackfillPolicy.multi_run(days)


def build_step_asset(
    ctx: TenantContext,
    kind: str,
    pipelines: Sequence[PipelineAssetConfig],
    transfers: Mapping[str, TransferFunction],
    partitioned: bool,
) -> dg.AssetsDefinition:
    """One multi-asset over many pipelines, like dagster-sling's and dagster-dbt's."""
    tenant = ctx.tenant
    source_key = naming.resource_key(tenant, "source")
    storage_key = naming.resource_key(tenant, "storage")
    warehouse_key = naming.resource_key(tenant, "warehouse")
    max_parallel = ctx.config.source.max_parallel
    days_per_scan = ctx.config.backfill.days_per_scan

    @dg.multi_asset(
        name=naming.step_asset_name(tenant, kind),
        specs=[s for p in pipelines for s in pipeline_specs(ctx, p)],
        check_specs=check_specs(ctx, pipelines),
        can_subset=True,
        partitions_def=ctx.partitions_def if partitioned else None,
        backfill_policy=backfill_policy(ctx) if partitioned else None,
        required_resource_keys={source_key, storage_key, warehouse_key},
        pool=naming.pool_name(tenant),
        op_tags={"tenant": tenant},
        description=f"[{tenant}] {kind} pipelines: extract, transfer and load what is selected.",
    )
    def _step(context: dg.AssetExecutionContext) -> Iterator[Any]:
        resources = context.resources
        inputs = StepInputs(
            tenant=tenant,
            days=tuple(sorted(context.partition_keys)) if partitioned else None,
            selected=frozenset(context.selected_asset_keys),
            selected_checks=frozenset(context.selected_asset_check_keys),
            source=getattr(resources, source_key),
            storage=getattr(resources, storage_key),
            warehouse=getattr(resources, warehouse_key),
            days_per_scan=days_per_scan,
            retry=ctx.config.runs.retry,
        )
        yield from run_pipelines(inputs, pipelines, transfers, max_parallel, context.log)

    return _step


def build_tenant_assets(
    ctx: TenantContext,
    pipelines: tuple[PipelineAssetConfig, ...],
    transfers: Mapping[str, TransferFunction],
) -> list[dg.AssetsDefinition]:
    """At most two multi-assets per tenant: its daily pipelines and its master-data ones.

    Definitions then cost two assets definitions per tenant instead of one per pipeline, and a
    stage job subsets one of them, so hundreds of tenants load in seconds.
    """
    daily = [p for p in pipelines if p.is_partitioned]
    master = [p for p in pipelines if not p.is_partitioned]
    out = []
    if daily:
        out.append(build_step_asset(ctx, "daily", daily, transfers, partitioned=True))
    if master:
        out.append(build_step_asset(ctx, "master", master, transfers, partitioned=False))
    return out
