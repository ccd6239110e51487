"""Assets of a tenant: ``extract`` always, ``transfer`` and ``load`` by pipeline config.

Every stage of every pipeline is its own asset (``<tenant>/<stage>/<name>``) with its own
materializations, metadata and checks. They are grouped into at most two subsettable
multi-assets per tenant (daily and master data), the way dagster-sling and dagster-dbt group a
whole replication or project: a stage job subsets one of them, and definitions for hundreds of
tenants build in seconds instead of minutes.
"""

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg

from etl import naming
from etl.common.transfer import TransferFunction
from etl.config.tenant_config import PipelineAssetConfig
from etl.factories.check_factory import step_check_specs
from etl.factories.code_versions import stage_code_versions
from etl.factories.context import TenantContext
from etl.stages.latest import LatestMaterializations
from etl.stages.provenance import Provenance
from etl.stages.stamps import HOLD_S, stamped
from etl.stages.step import run_pipelines
from etl.stages.step_inputs import StepInputs

__all__ = ["build_tenant_assets", "pipeline_specs"]


def pipeline_specs(ctx: TenantContext, pipeline: PipelineAssetConfig,
                   transfer: TransferFunction | None = None) -> list[dg.AssetSpec]:
    """One spec per stage, each with its code version (:mod:`etl.factories.code_versions`)."""
    tenant, name = ctx.tenant, pipeline.name
    versions = stage_code_versions(ctx.config, pipeline, transfer)
    about = pipeline.description or f"{name} from {pipeline.table or 'a source query'}"
    shared: dict[str, Any] = {"tags": ctx.tags, "skippable": True,
                              "owners": list(ctx.config.tenant.owners)}

    def spec(stage: naming.Stage, upstream: dg.AssetKey | None, description: str,
             kinds: set[str], metadata: dict[str, str]) -> dg.AssetSpec:
        return dg.AssetSpec(
            naming.asset_key(tenant, stage, name), deps=[upstream] if upstream else [],
            description=description, group_name=naming.group_name(tenant, stage),
            kinds=kinds, metadata=metadata, code_version=versions[stage], **shared)

    specs = [spec("extract", None, f"Extract: {about}", {"sql", "parquet"}, {
        "source": pipeline.table or pipeline.query or "",
        "date_column": pipeline.date_column or "(master data: one file, no days)"})]
    if pipeline.has_transfer:
        ref = pipeline.transfer_ref
        doc = inspect.getdoc(transfer) if transfer is not None and ref.sql is None else None
        specs.append(spec("transfer", specs[-1].key,
                          f"Transfer: {about}" + (f"\n\n{doc}" if doc else ""),
                          {"duckdb", "parquet"},
                          {"transfer": ref.function or "sql", **({"sql": ref.sql} if ref.sql
                                                                 else {})}))
    if pipeline.save_to_trino:
        # The qualified name (dagster/table_name) is on each materialization: on Trino its
        # catalog follows the load mode.
        specs.append(spec("load", specs[-1].key, f"Load: {about}", {ctx.warehouse_kind},
                          {"table": naming.warehouse_table(name)}))
    return specs


def step_days(context: dg.AssetExecutionContext) -> tuple[str, ...]:
    """The run's days: its partition or range, or the days its ``etl/days`` tag names (a heal's
    scattered days in one run without a partition; the days between them are not touched)."""
    only = context.run.tags.get(naming.DAYS_TAG)
    if only:
        return tuple(sorted(set(only.split(","))))
    return tuple(sorted(context.partition_keys))


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
    specs = [s for p in pipelines for s in pipeline_specs(ctx, p, transfers.get(p.name))]
    code_versions = {s.key: s.code_version for s in specs if s.code_version}
    upstream = {s.key: next(iter(s.deps)).asset_key for s in specs if s.deps}

    @dg.multi_asset(
        name=naming.step_asset_name(tenant, kind),
        specs=specs,
        check_specs=step_check_specs(ctx, pipelines),
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
        chosen = frozenset(context.selected_asset_check_keys)
        inputs = StepInputs(
            tenant=tenant,
            days=step_days(context) if partitioned else None,
            selected=frozenset(context.selected_asset_keys),
            selected_checks=evaluated_checks(chosen, tenant, context.job_def.name),
            source=getattr(resources, source_key),
            storage=getattr(resources, storage_key),
            warehouse=getattr(resources, warehouse_key),
            days_per_scan=days_per_scan,
            retry=ctx.config.runs.retry,
            instance=context.instance,
            run_id=context.run.run_id,
            tags=dict(context.run.tags),
            every_check=naming.DAYS_TAG in context.run.tags,
        )
        latest = LatestMaterializations(context.instance, inputs.days, context.run.run_id)
        yield from stamped(run_pipelines(inputs, pipelines, transfers, max_parallel,
                                         context.log, notifier(context), idle_s=HOLD_S),
                           latest, Provenance(latest, code_versions, upstream))
        # Each day's check result was recorded above; these tell Dagster the selected checks
        # were evaluated, so it does not list them as outputs the step failed to yield.
        for output, spec in context.assets_def.check_specs_by_output_name.items():
            if spec.key in chosen:
                yield dg.Output(None, output_name=output)

    return _step


def evaluated_checks(chosen: frozenset[dg.AssetCheckKey], tenant: str,
                     job: str) -> frozenset[dg.AssetCheckKey]:
    """The selected checks this step evaluates: ``matches_source`` only in the reconcile job.

    A run of the daily job's assets subset (a backfill of some pipelines submitted to the
    daemon, which cannot name its checks) selects every check of those assets, the
    reconcile's included. Judged there, the day would be compared with an extract whose events
    the step has not yet handed to Dagster ("not extracted yet"), and a heal would follow.
    """
    reconcile = {naming.RECONCILE_JOB, naming.job_name(tenant, naming.RECONCILE_JOB,
                                                        qualified=True)}
    if job in reconcile:
        return chosen
    return frozenset(k for k in chosen if k.name != naming.SOURCE_CHECK)


def notifier(context: dg.AssetExecutionContext) -> Callable[[str], None]:
    """Lines for whoever watches the run (a retry): engine events marked ``etl/notice``,
    which ``etl run`` and ``etl backfill`` read along with the materializations."""
    from dagster._core.events import EngineEventData

    step = context.get_step_execution_context().step.key

    def notify(text: str) -> None:
        context.instance.report_engine_event(
            text, context.run, EngineEventData({naming.NOTICE_METADATA: "retry"}),
            step_key=step)

    return notify


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
