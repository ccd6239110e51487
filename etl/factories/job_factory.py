"""Per-tenant jobs: the daily run, stage reruns and the master-data sync.

Jobs exist only when they would select something, so a tenant without master data has no
``master_sync_job`` and one without transfers no ``transfer_job``. Every job is one step (a
tenant's pipelines run side by side inside it), so it runs in the run worker's own process
(``in_process_executor``): no second Python process to start per run, and no orphaned step
process left running if the run worker is killed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import dagster as dg

from etl import naming
from etl.config.runs import RunsConfig
from etl.config.tenant_config import PipelineAssetConfig

if TYPE_CHECKING:  # define_asset_job's return type has no public name
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def stage_keys(
    tenant: str, pipelines: Sequence[PipelineAssetConfig], stage: naming.Stage
) -> list[dg.AssetKey]:
    return [naming.asset_key(tenant, stage, p.name) for p in pipelines if p.has_stage(stage)]


def run_tags(runs: RunsConfig) -> dict[str, str]:
    """Run tags that carry the tenant's ``runs:`` settings to the instance's daemons."""
    tags = {naming.MAX_RETRIES_TAG: str(runs.max_retries)}
    if runs.max_runtime_s is not None:
        tags[naming.MAX_RUNTIME_TAG] = str(runs.max_runtime_s)
    return tags


def build_jobs(
    tenant: str,
    pipelines: Sequence[PipelineAssetConfig],
    tags: Mapping[str, str],
    qualified: bool,
    runs: RunsConfig | None = None,
    sensor_checks: Collection[dg.AssetCheckKey] = (),
    source_checks: Collection[dg.AssetCheckKey] = (),
) -> dict[str, UnresolvedAssetJobDefinition]:
    """Jobs keyed by their tenant-local name (``daily_etl_job``, ...).

    ``sensor_checks`` (freshness) are left out: a sensor records them, they are no step of
    the runs they watch. ``source_checks`` (``matches_source``) are left out too: they are
    ``reconcile_job``'s, over days extracted earlier.
    """
    daily = [p for p in pipelines if p.is_partitioned]
    master = [p for p in pipelines if not p.is_partitioned]
    wanted: dict[str, tuple[list[dg.AssetKey], str]] = {}
    all_daily = [k for stage in naming.STAGES for k in stage_keys(tenant, daily, stage)]
    if all_daily:
        wanted[naming.DAILY_ETL_JOB] = (all_daily, "Extract, transfer and load one day.")
    for stage in naming.STAGES:
        keys = stage_keys(tenant, daily, stage)
        if keys:
            wanted[naming.stage_job_name(stage)] = (
                keys, f"Rerun only the {stage} stage over a day or a range of days.")
    all_master = [k for stage in naming.STAGES for k in stage_keys(tenant, master, stage)]
    if all_master:
        wanted[naming.MASTER_SYNC_JOB] = (all_master, "Refresh unpartitioned master data.")
    job_tags = {**tags, **run_tags(runs or RunsConfig())}
    excluded = [*sensor_checks, *source_checks]
    jobs = {
        local: dg.define_asset_job(
            naming.job_name(tenant, local, qualified=qualified),
            selection=_selection(keys, excluded),
            description=f"[{tenant}] {about}",
            tags=job_tags,
            executor_def=dg.in_process_executor,
        )
        for local, (keys, about) in wanted.items()
    }
    if source_checks:
        jobs[naming.RECONCILE_JOB] = dg.define_asset_job(
            naming.job_name(tenant, naming.RECONCILE_JOB, qualified=qualified),
            selection=dg.AssetSelection.checks(*source_checks),
            description=f"[{tenant}] Compare each day's fingerprint at the source with the one "
                        "its extract recorded (the matches_source checks); changes nothing.",
            tags={**job_tags, naming.REASON_TAG: "reconcile"},
            executor_def=dg.in_process_executor,
        )
    return jobs


def _selection(keys: list[dg.AssetKey], sensor_checks: Collection[dg.AssetCheckKey]
               ) -> dg.AssetSelection:
    selection = dg.AssetSelection.assets(*keys)
    selected = set(keys)
    excluded = [c for c in sensor_checks if c.asset_key in selected]
    return selection - dg.AssetSelection.checks(*excluded) if excluded else selection
