"""Each pipeline's state over the last days, from what the instance records.

The same sources as the UI: each asset's partition status (materialized, failed) from Dagster's
status cache, each check's latest result per day, and the row counts on the last stage's
materializations. The asset records of the whole fleet are one query and each tenant's check
results one call, as the UI batches its reads; what remains is a query or two per asset, none
per day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

from etl import naming
from etl.checks.planned import planned_checks
from etl.config.tenant_config import PipelineAssetConfig, TenantConfig
from etl.instance.private import AssetCheckExecutionRecordStatus, BatchedReads, partition_subsets
from etl.stages.outcome import ROW_COUNT
from etl.utils.days import daily_partitions, scheduled_days


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
                 window_days: int, now: dt.datetime) -> list[PipelineStatus]:
    """Every pipeline of every tenant in ``configs``, in order."""
    reads = BatchedReads(instance)
    reads.prepare(naming.asset_key(c.tenant.id, stage, p.name) for c in configs
                  for p in c.assets.enabled for stage in naming.STAGES if p.has_stage(stage))
    return [s for c in configs for s in tenant_status(reads, c, window_days, now)]


def tenant_status(reads: BatchedReads, config: TenantConfig, window_days: int,
                  now: dt.datetime) -> list[PipelineStatus]:
    schedule = config.schedule
    days = scheduled_days(now, schedule.timezone, schedule.start_date, window_days)
    partitions = daily_partitions(schedule.start_date, schedule.timezone)
    statuses = [_pipeline(reads, config, p, days if p.is_partitioned else [], partitions)
                for p in config.assets.enabled]
    daily = [(p, s) for p, s in zip(config.assets.enabled, statuses, strict=True)
             if p.is_partitioned]
    if daily:
        _checks(reads.instance, config, daily, days)
    return statuses


def _pipeline(reads: BatchedReads, config: TenantConfig, pipeline: PipelineAssetConfig,
              days: Sequence[str], partitions: dg.PartitionsDefinition[str]) -> PipelineStatus:
    tenant = config.tenant.id
    instance = reads.instance
    status = PipelineStatus(tenant, pipeline.name)
    last = naming.asset_key(tenant, pipeline.last_stage, pipeline.name)
    if not pipeline.is_partitioned:
        records = instance.fetch_materializations(last, limit=1).records
        if records:
            status.last_day = "latest"
            status.rows_yesterday = _rows(records[0])
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
    _rows_by_day(instance, last, days, status)
    return status


def _checks(instance: dg.DagsterInstance, config: TenantConfig,
            daily: Sequence[tuple[PipelineAssetConfig, PipelineStatus]],
            days: Sequence[str]) -> None:
    """The failing check results of a tenant's daily pipelines, in one call for them all."""
    tenant = config.tenant.id
    keys: dict[dg.AssetCheckKey, tuple[PipelineStatus, bool]] = {}
    for pipeline, status in daily:
        for c in planned_checks(pipeline):
            keys[naming.check_key(tenant, c.stage, pipeline.name, c.name)] = (status, False)
        if pipeline.save_to_trino:
            keys[naming.check_key(tenant, "load", pipeline.name,
                                  naming.RECONCILE_CHECK)] = (status, False)
        if config.freshness_of(pipeline).enabled:
            keys[naming.check_key(tenant, pipeline.last_stage, pipeline.name,
                                  naming.FRESHNESS_CHECK)] = (status, True)
    infos = instance.event_log_storage.get_asset_check_partition_info(list(keys),
                                                                     partition_keys=days)
    for info in infos:
        if info.partition_key is None or not info.is_current or (
                info.latest_execution_status != AssetCheckExecutionRecordStatus.FAILED):
            continue
        status, is_freshness = keys[info.check_key]
        if is_freshness:
            status.freshness_missed.append(info.partition_key)
        else:
            status.failing_checks.setdefault(info.check_key.name, []).append(info.partition_key)
    for _, status in daily:
        status.freshness_missed.sort()
        for found in status.failing_checks.values():
            found.sort()


def _rows_by_day(instance: dg.DagsterInstance, key: dg.AssetKey, days: Sequence[str],
                 status: PipelineStatus) -> None:
    """Rows of each day's latest materialization at the last stage, over the window."""
    if not days:
        return
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=list(days)),
        limit=len(days) * 4, ascending=False).records
    latest: dict[str, int] = {}
    for record in records:  # newest first: a day's first record is its latest
        day = record.partition_key
        if day is not None and day not in latest:
            latest[day] = _rows(record) or 0
    status.rows_window = sum(latest.values())
    status.rows_yesterday = latest.get(days[-1]) if days[-1] in latest else None


def _rows(record: dg.EventLogRecord) -> int | None:
    mat = record.asset_materialization
    value = mat.metadata.get(ROW_COUNT) if mat is not None else None
    return int(value.value) if isinstance(value, dg.IntMetadataValue) and value.value is not None \
        else None
