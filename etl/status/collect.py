"""Each pipeline's state over the last days, from what the instance records.

The same sources as the UI: each asset's partition status (materialized, failed) from Dagster's
status cache, each check's latest result per day, and the row counts on the last stage's
materializations. A tenant costs a few queries per pipeline, not per day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

from etl import naming
from etl.checks.planned import planned_checks
from etl.config.tenant_config import PipelineAssetConfig, TenantConfig
from etl.instance.private import AssetCheckExecutionRecordStatus, partition_subsets
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


def tenant_status(instance: dg.DagsterInstance, config: TenantConfig, window_days: int,
                  now: dt.datetime) -> list[PipelineStatus]:
    schedule = config.schedule
    days = scheduled_days(now, schedule.timezone, schedule.start_date, window_days)
    partitions = daily_partitions(schedule.start_date, schedule.timezone)
    return [_pipeline(instance, config, p, days if p.is_partitioned else [], partitions)
            for p in config.assets.enabled]


def _pipeline(instance: dg.DagsterInstance, config: TenantConfig, pipeline: PipelineAssetConfig,
              days: Sequence[str], partitions: dg.PartitionsDefinition[str]) -> PipelineStatus:
    tenant = config.tenant.id
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
        done, failed = partition_subsets(instance, naming.asset_key(tenant, stage, pipeline.name),
                                         partitions)
        if failed & window:
            status.failed[stage] = sorted(failed & window)
        if stage == pipeline.last_stage:
            status.last_day = max(done, default=None)
            status.missing = sorted(window - done - failed)
    _checks(instance, config, pipeline, days, status)
    _rows_by_day(instance, last, days, status)
    return status


def _checks(instance: dg.DagsterInstance, config: TenantConfig, pipeline: PipelineAssetConfig,
            days: Sequence[str], status: PipelineStatus) -> None:
    tenant = config.tenant.id
    keys = [naming.check_key(tenant, c.stage, pipeline.name, c.name)
            for c in planned_checks(pipeline)]
    if pipeline.save_to_trino:
        keys.append(naming.check_key(tenant, "load", pipeline.name, naming.RECONCILE_CHECK))
    freshness = naming.check_key(tenant, pipeline.last_stage, pipeline.name,
                                 naming.FRESHNESS_CHECK)
    if config.freshness_of(pipeline).enabled:
        keys.append(freshness)
    infos = instance.event_log_storage.get_asset_check_partition_info(keys, partition_keys=days)
    for info in infos:
        if info.partition_key is None or not info.is_current or (
                info.latest_execution_status != AssetCheckExecutionRecordStatus.FAILED):
            continue
        if info.check_key == freshness:
            status.freshness_missed.append(info.partition_key)
        else:
            status.failing_checks.setdefault(info.check_key.name, []).append(info.partition_key)
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
