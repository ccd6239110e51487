"""The asset checks a tenant's step runs: the load's row count, the quality checks, and each
daily pipeline's ``matches_source`` (evaluated by reconcile runs only).

Each is a Dagster asset check of the stage it checks; a daily pipeline's are partitioned like
its assets, so every result is recorded against its day, and master data's are not. The step
evaluates them as the stage finishes (:mod:`etl.stages.step`); selecting only a check
in the UI runs just that check on the files already written.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg

from etl import naming
from etl.checks.planned import planned_checks
from etl.config.tenant_config import PipelineAssetConfig

if TYPE_CHECKING:
    from etl.factories.context import TenantContext


def step_check_specs(ctx: TenantContext, pipelines: Sequence[PipelineAssetConfig]
                     ) -> list[dg.AssetCheckSpec]:
    """Every check the step evaluates, for ``pipelines``."""
    with warnings.catch_warnings():  # partitioned checks are the reason to use this release
        warnings.simplefilter("ignore", dg.PreviewWarning)
        out: list[dg.AssetCheckSpec] = []
        for p in pipelines:
            out.extend(quality_specs(ctx, p))
            if p.save_to_trino:
                out.append(reconcile_spec(ctx, p))
            if p.is_partitioned:
                out.append(source_spec(ctx, p))
        return out


def source_spec(ctx: TenantContext, p: PipelineAssetConfig) -> dg.AssetCheckSpec:
    """Each extracted day still matches the source: its fingerprint taken again (a warning)."""
    covered = (f"the primary key and {p.change_column}" if p.change_column
               else "every extracted column")
    return dg.AssetCheckSpec(
        naming.SOURCE_CHECK, asset=naming.asset_key(ctx.tenant, "extract", p.name),
        blocking=False, partitions_def=ctx.partitions_def,
        description=(
            f"The day's rows at the source now have the count and checksum (of {covered}) "
            "the extract recorded when it wrote the day. Evaluated by reconcile runs "
            "(etl reconcile, reconcile_schedule). A warning: a day that differs is healed by "
            "reconcile.heal or etl reconcile --heal."),
        metadata={"severity": "warning"},
    )


def source_check_keys(tenant: str, pipelines: Sequence[PipelineAssetConfig]
                      ) -> list[dg.AssetCheckKey]:
    return [naming.check_key(tenant, "extract", p.name, naming.SOURCE_CHECK)
            for p in pipelines if p.is_partitioned]


def reconcile_spec(ctx: TenantContext, p: PipelineAssetConfig) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        naming.RECONCILE_CHECK, asset=naming.asset_key(ctx.tenant, "load", p.name),
        blocking=True,
        partitions_def=ctx.partitions_def if p.is_partitioned else None,
        description=(
            "Warehouse rows for the day equal the rows of the day's Parquet."
            if p.is_partitioned else
            "Warehouse rows of the table equal the rows of the master Parquet."
        ),
    )


def quality_specs(ctx: TenantContext, p: PipelineAssetConfig) -> list[dg.AssetCheckSpec]:
    """The primary-key and configured checks, on the pipeline's last Parquet stage."""
    return [
        dg.AssetCheckSpec(
            check.name, asset=naming.asset_key(ctx.tenant, check.stage, p.name),
            blocking=check.blocking,
            partitions_def=ctx.partitions_def if p.is_partitioned else None,
            description=check.about(p.is_partitioned),
            metadata={"rule": check.rule.kind, "severity": "blocking" if check.blocking
                      else "warning"},
        )
        for check in planned_checks(p)
    ]
