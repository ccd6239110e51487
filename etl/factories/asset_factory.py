"""One Dagster multi-asset per pipeline: ``extract`` always, ``transfer`` and ``load`` by config.

A pipeline's stages share one op with ``can_subset=True``: Dagster still shows and selects
``<tenant>/extract/<name>``, ``<tenant>/transfer/<name>`` and ``<tenant>/load/<name>`` as
separate assets (a stage job reruns only its stage), while definitions stay cheap to build at
hundreds of tenants (one op per pipeline instead of three).
"""


from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg

from etl import naming
from etl.common.assets.extract import run_extract
from etl.common.assets.load import load_input_stage, run_load
from etl.common.assets.transfer import TransferFunction, run_transfer
from etl.config.tenant_config import PipelineAssetConfig, TenantConfig, TrinoWarehouseConfig

RECONCILE_CHECK = "row_count_matches_parquet"
RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)


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
        return "trino" if isinstance(self.config.warehouse, TrinoWarehouseConfig) else "duckdb"


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


def build_pipeline_asset(
    ctx: TenantContext, pipeline: PipelineAssetConfig, transfer: TransferFunction | None
) -> dg.AssetsDefinition:
    tenant, name = ctx.tenant, pipeline.name
    keys = {stage: naming.asset_key(tenant, stage, name) for stage in naming.STAGES}
    source_key = naming.resource_key(tenant, "source")
    storage_key = naming.resource_key(tenant, "storage")
    warehouse_key = naming.resource_key(tenant, "warehouse")
    check_specs = (
        [dg.AssetCheckSpec(
            RECONCILE_CHECK, asset=keys["load"], blocking=True,
            description="Warehouse rows for the partition equal the Parquet rows loaded.",
        )]
        if pipeline.save_to_trino else []
    )

    @dg.multi_asset(
        name=f"{tenant}__{name}",
        specs=pipeline_specs(ctx, pipeline),
        check_specs=check_specs,
        can_subset=True,
        partitions_def=ctx.partitions_def if pipeline.is_partitioned else None,
        required_resource_keys={source_key, storage_key, warehouse_key},
        pool=naming.pool_name(tenant),
        retry_policy=RETRY_POLICY,
        op_tags={"tenant": tenant},
    )
    def _pipeline(context: dg.AssetExecutionContext) -> Iterator[Any]:
        selected = context.selected_asset_keys
        partition = context.partition_key if pipeline.is_partitioned else None
        resources = context.resources
        storage = getattr(resources, storage_key)
        if keys["extract"] in selected:
            outcome = run_extract(tenant, pipeline, getattr(resources, source_key), storage,
                                  partition)
            context.log.info(f"extract {name} [{partition or 'latest'}]: {outcome.rows} rows")
            yield dg.MaterializeResult(asset_key=keys["extract"], metadata=outcome.metadata())
        if pipeline.has_transfer and keys["transfer"] in selected:
            assert transfer is not None
            outcome = run_transfer(tenant, pipeline, transfer, storage, partition)
            context.log.info(f"transfer {name} [{partition or 'latest'}]: {outcome.rows} rows")
            yield dg.MaterializeResult(asset_key=keys["transfer"], metadata=outcome.metadata())
        if pipeline.save_to_trino and keys["load"] in selected:
            outcome, recon = run_load(tenant, pipeline, storage, getattr(resources, warehouse_key),
                                      partition)
            context.log.info(f"load {name} [{partition or 'latest'}] from "
                             f"{load_input_stage(pipeline)}: {outcome.rows} rows")
            yield dg.MaterializeResult(asset_key=keys["load"], metadata=outcome.metadata())
            if dg.AssetCheckKey(keys["load"], RECONCILE_CHECK) in context.selected_asset_check_keys:
                yield dg.AssetCheckResult(
                    asset_key=keys["load"], check_name=RECONCILE_CHECK, passed=recon.passed,
                    description=recon.description,
                    metadata={"parquet_rows": recon.expected, "warehouse_rows": recon.actual},
                )

    return _pipeline


def build_tenant_assets(
    ctx: TenantContext,
    pipelines: tuple[PipelineAssetConfig, ...],
    transfers: Mapping[str, TransferFunction],
) -> list[dg.AssetsDefinition]:
    return [build_pipeline_asset(ctx, p, transfers.get(p.name)) for p in pipelines]
