"""Each pipeline's state over the last days, from what the instance records.

The same sources as the UI: each asset's partition status (materialized, failed) from Dagster's
status cache, each check's latest result per day, and the row counts on the last stage's
materializations. The asset records of the whole fleet are one query, as the UI batches its
reads; each day's latest materialization, its row count and every check's latest result are a
few queries for the whole fleet (:mod:`etl.instance.day_records`); what remains is Dagster's
status cache, a query or two per asset, none per day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import dagster as dg

from etl import naming
from etl.checks.planned import planned_checks
from etl.config.tenant_config import PipelineAssetConfig, TenantConfig
from etl.instance.day_records import DayRecords, recorded_rows
from etl.instance.prefetch import planned_prefetched
from etl.instance.private import (
    AssetCheckExecutionRecordStatus,
    AssetCheckPartitionInfo,
    BatchedReads,
    partition_subsets,
)
from etl.utils.days import daily_partitions, scheduled_days

CheckResult = AssetCheckPartitionInfo
CheckKeys = Mapping[dg.AssetCheckKey, bool]
"""Each check of a tenant's daily pipelines, and whether it is the freshness check."""


@dataclass
class PipelineStatus:
    tenant: str
    pipeline: str
    last_day: str | None = None
    """The newest day done at the pipeline's last stage (``latest`` for master data)."""
    missing: list[str] = field(default_factory=list)
    failed: dict[str, list[str]] = field(default_factory=dict)
    """Per stage, the days whose latest attempt failed."""
    failing_checks: dict[str, list[str]] = field(default_factory=dict)
    """Per check, the days whose current result failed."""
    freshness_missed: list[str] = field(default_factory=list)
    rows_yesterday: int | None = None
    rows_window: int = 0


def fleet_status(instance: dg.DagsterInstance, configs: Sequence[TenantConfig],
                 window_days: int, now: dt.datetime, *, grouped: bool = True
                 ) -> list[PipelineStatus]:
    """Every pipeline of every tenant in ``configs``, in order.

    Tenants sharing a window of days (the same time zone and a start before it) share one
    :class:`DayRecords`, so the fleet's days and checks are read in a few queries
    (``grouped=False``: Dagster's own reads, per asset and per check, for the benchmark)."""
    reads = BatchedReads(instance)
    assets = [naming.asset_key(c.tenant.id, stage, p.name) for c in configs
              for p in c.assets.enabled for stage in naming.STAGES if p.has_stage(stage)]
    reads.prepare(assets)
    windows: dict[tuple[str, ...], list[TenantConfig]] = {}
    for config in configs:
        windows.setdefault(_window(config, window_days, now), []).append(config)
    found: dict[str, list[PipelineStatus]] = {}
    with planned_prefetched(instance, assets) if grouped else nullcontext():
        for days, group in windows.items():
            found.update(_group(reads, days, group, grouped))
    return [s for c in configs for s in found[c.tenant.id]]


def _group(reads: BatchedReads, days: tuple[str, ...], group: Sequence[TenantConfig],
           grouped: bool) -> dict[str, list[PipelineStatus]]:
    """The tenants sharing one window of days, read together."""
    records = DayRecords(reads, days, grouped=grouped)
    last = [naming.asset_key(c.tenant.id, p.last_stage, p.name) for c in group
            for p in c.assets.enabled if p.is_partitioned]
    latest = records.latest_materializations(last)
    records.rows(latest[(key, day)] for key in last for day in days if (key, day) in latest)
    keys = {c.tenant.id: _check_keys(c) for c in group}
    results: dict[str, list[CheckResult]] = {c.tenant.id: [] for c in group}
    for result in records.check_results([k for c in group for k in keys[c.tenant.id]]):
        results[result.check_key.asset_key.path[0]].append(result)
    return {c.tenant.id: _tenant(reads, records, results[c.tenant.id], keys[c.tenant.id], c,
                                 days) for c in group}


def _window(config: TenantConfig, window_days: int, now: dt.datetime) -> tuple[str, ...]:
    schedule = config.schedule
    return tuple(scheduled_days(now, schedule.timezone, schedule.start_date, window_days))


def _tenant(reads: BatchedReads, records: DayRecords, results: Sequence[CheckResult],
            keys: CheckKeys, config: TenantConfig, days: Sequence[str]) -> list[PipelineStatus]:
    partitions = daily_partitions(config.schedule.start_date, config.schedule.timezone)
    statuses = [_pipeline(reads, records, config, p, days if p.is_partitioned else [],
                          partitions) for p in config.assets.enabled]
    by_name = {s.pipeline: s for s in statuses}
    for result in results:
        if result.check_key in keys:
            _judge(result, by_name[result.check_key.asset_key.path[-1]],
                   keys[result.check_key])
    for status in statuses:
        status.freshness_missed.sort()
        for failed in status.failing_checks.values():
            failed.sort()
    return statuses


def _pipeline(reads: BatchedReads, records: DayRecords, config: TenantConfig,
              pipeline: PipelineAssetConfig, days: Sequence[str],
              partitions: dg.PartitionsDefinition[str]) -> PipelineStatus:
    tenant = config.tenant.id
    instance = reads.instance
    status = PipelineStatus(tenant, pipeline.name)
    last = naming.asset_key(tenant, pipeline.last_stage, pipeline.name)
    if not pipeline.is_partitioned:
        newest = instance.fetch_materializations(last, limit=1).records
        if newest:
            status.last_day = "latest"
            status.rows_yesterday = recorded_rows(newest[0])
            status.rows_window = status.rows_yesterday or 0
        return status
    window = set(days)
    for stage in (s for s in naming.STAGES if pipeline.has_stage(s)):
        done, failed = partition_subsets(reads, naming.asset_key(tenant, stage, pipeline.name),
                                         partitions)
        if failed & window:
            status.failed[stage] = sorted(failed & window)
        if stage == pipeline.last_stage:
            status.last_day = max(done, default=None)
            status.missing = sorted(window - done - failed)
    _rows_by_day(records, last, days, status)
    return status


def _check_keys(config: TenantConfig) -> CheckKeys:
    """Every check of the tenant's daily pipelines: its quality checks, the reconciliation of
    each load, and the freshness of its last stage."""
    tenant = config.tenant.id
    keys: dict[dg.AssetCheckKey, bool] = {}
    for pipeline in config.assets.enabled:
        if not pipeline.is_partitioned:
            continue
        for c in planned_checks(pipeline):
            keys[naming.check_key(tenant, c.stage, pipeline.name, c.name)] = False
        if pipeline.save_to_trino:
            keys[naming.check_key(tenant, "load", pipeline.name, naming.RECONCILE_CHECK)] = False
        if config.freshness_of(pipeline).enabled:
            keys[naming.check_key(tenant, pipeline.last_stage, pipeline.name,
                                  naming.FRESHNESS_CHECK)] = True
    return keys


def _judge(result: CheckResult, status: PipelineStatus, is_freshness: bool) -> None:
    """A check's current failed result on a day, counted on its pipeline."""
    if result.partition_key is None or not result.is_current or (
            result.latest_execution_status != AssetCheckExecutionRecordStatus.FAILED):
        return
    if is_freshness:
        status.freshness_missed.append(result.partition_key)
    else:
        status.failing_checks.setdefault(result.check_key.name, []).append(
            result.partition_key)


def _rows_by_day(records: DayRecords, key: dg.AssetKey, days: Sequence[str],
                 status: PipelineStatus) -> None:
    """Rows of each day's latest materialization at the last stage, over the window."""
    if not days:
        return
    latest = records.latest_materializations([key])
    ids = {day: latest[(key, day)] for day in days if (key, day) in latest}
    rows = records.rows(ids.values())
    by_day = {day: rows.get(storage_id) or 0 for day, storage_id in ids.items()}
    status.rows_window = sum(by_day.values())
    status.rows_yesterday = by_day.get(days[-1])

