"""What a fleet's days hold, read in a few queries for every asset at once.

``etl status`` needs, for each of hundreds of assets and each day of a window, the day's latest
materialization (and the rows it records) and each check's latest result on that day. Dagster's
own reads take one or two queries per asset or check and decode every event whole:
``get_asset_check_partition_info`` runs one query per check key (its own comment says it could
not join them), and ``fetch_materializations`` deserializes each event. Over 100 tenants that
was two thirds of the command's reading.

Here the same rows come from the same index tables, grouped by asset (or check) and day in one
query each; a day's row count is read from its event's text without building the event. The
answers are Dagster's: :class:`AssetCheckPartitionInfo` records, judged current by its own
``is_current``, and the latest materialization chosen as Dagster chooses it (the newest storage
id of the day after the asset's last wipe). ``tests/unit/test_day_records.py`` holds them equal
to Dagster's own reads on a history with reruns, failures, superseded results and a wipe.

Storages that are not SQL event logs (none the project configures) take Dagster's own reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

import dagster as dg
import sqlalchemy as sa

from etl import naming
from etl.instance.newest import chunks, newest_ids
from etl.instance.private import (
    AssetCheckExecutionRecordStatus,
    AssetCheckExecutionsTable,
    AssetCheckPartitionInfo,
    BatchedReads,
    SqlEventLogStorage,
    SqlEventLogStorageTable,
    latest_unpartitioned_materializations,
)

_ROW_COUNT_TEXT = re.compile(
    r'"entry_data": \{"__class__": "IntMetadataEntryData", "value": (-?\d+)\}, '
    + re.escape(f'"label": {json.dumps(naming.ROW_COUNT)}'))
"""A serialized materialization's row count, as Dagster writes a metadata entry (keys sorted)."""

DayKey = tuple[dg.AssetKey, str]


class DayRecords:
    """The latest materialization of each (asset, day) and each check's latest result by day,
    over ``days``, for the assets and checks named."""

    def __init__(self, reads: BatchedReads, days: Sequence[str], *, grouped: bool = True) -> None:
        """``grouped=False`` takes Dagster's own reads, as a storage that is not SQL does (the
        benchmark compares the two)."""
        self._reads = reads
        instance = self._instance = reads.instance
        self._days = list(days)
        storage = instance.event_log_storage
        self._sql = storage if grouped and isinstance(storage, SqlEventLogStorage) else None
        self._latest: dict[DayKey, int] = {}
        self._read: set[dg.AssetKey] = set()
        self._rows: dict[int, int | None] = {}

    def latest_materializations(self, keys: Iterable[dg.AssetKey]) -> dict[DayKey, int]:
        """Storage id of each (asset, day)'s newest materialization; each key read once."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self._read]
        if wanted and self._days:
            self._latest.update(self._read_latest(wanted))
            self._read.update(wanted)
        return self._latest

    def _read_latest(self, keys: list[dg.AssetKey]) -> dict[DayKey, int]:
        if self._sql is None:
            return {(key, record.partition_key): record.storage_id for key in keys
                    for record in self._instance.fetch_materializations(
                        dg.AssetRecordsFilter(asset_key=key, asset_partitions=self._days),
                        limit=len(self._days) * 4, ascending=False).records
                    if record.partition_key is not None}
        found = newest_ids(self._sql, keys, dg.DagsterEventType.ASSET_MATERIALIZATION,
                           self._days)
        return {(key, day): storage_id for (key, day), storage_id in found.items()
                if day is not None}

    def rows(self, storage_ids: Iterable[int]) -> dict[int, int | None]:
        """The row count each materialization records (None: it records none); each read once."""
        asked = set(storage_ids)
        ids = sorted(asked - set(self._rows))
        if ids and self._sql is None:
            self._rows.update((r.storage_id, recorded_rows(r))
                              for r in self._instance.get_event_records(
                dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
                                      storage_ids=ids), limit=len(ids)))
        elif ids and self._sql is not None:
            table = SqlEventLogStorageTable
            for chunk in chunks(ids):
                with self._sql.index_connection() as conn:
                    rows = conn.execute(sa.select(table.c.id, table.c.event)
                                        .where(table.c.id.in_(chunk))).all()
                self._rows.update((int(storage_id), row_count_of(text))
                                  for storage_id, text in rows)
        return {i: self._rows[i] for i in asked if i in self._rows}

    def check_results(self, check_keys: Sequence[dg.AssetCheckKey]
                      ) -> list[AssetCheckPartitionInfo]:
        """Each check's latest result on each day it has one, as
        ``get_asset_check_partition_info(check_keys, partition_keys=days)`` answers."""
        if not check_keys or not self._days:
            return []
        if self._sql is None:
            return list(self._instance.event_log_storage.get_asset_check_partition_info(
                list(check_keys), partition_keys=self._days))
        latest = self.latest_materializations(k.asset_key for k in check_keys)
        unpartitioned = latest_unpartitioned_materializations(
            self._reads, list({k.asset_key for k in check_keys}))
        wanted = {(k.asset_key.to_string(), k.name): k for k in check_keys}
        names_of: dict[dg.AssetKey, set[str]] = {}
        for k in check_keys:
            names_of.setdefault(k.asset_key, set()).add(k.name)
        table = AssetCheckExecutionsTable
        infos: list[AssetCheckPartitionInfo] = []
        for chunk in chunks(sorted(names_of, key=str)):
            names = sorted(set().union(*(names_of[k] for k in chunk)))
            newest = (sa.select(sa.func.max(table.c.id).label("id"))
                      .where(table.c.asset_key.in_([k.to_string() for k in chunk]),
                             table.c.check_name.in_(names),
                             table.c.evaluation_event_storage_id.isnot(None),
                             table.c.partition.in_(self._days))
                      .group_by(table.c.asset_key, table.c.check_name, table.c.partition)
                      .subquery("newest"))
            query = (sa.select(table.c.asset_key, table.c.check_name, table.c.partition,
                               table.c.execution_status, table.c.evaluation_event_storage_id,
                               table.c.materialization_event_storage_id, table.c.run_id)
                     .join(newest, table.c.id == newest.c.id))
            with self._sql.index_connection() as conn:
                rows = conn.execute(query).all()
            for asset, name, day, status, evaluation, target, run_id in rows:
                key = wanted.get((asset, name))
                if key is None:  # another check of the same assets
                    continue
                materialized = max(filter(None, [latest.get((key.asset_key, day)),
                                                 unpartitioned.get(key.asset_key)]),
                                   default=None)
                infos.append(AssetCheckPartitionInfo(
                    check_key=key, partition_key=day,
                    latest_execution_status=AssetCheckExecutionRecordStatus(status),
                    latest_planned_run_id=run_id, latest_check_event_storage_id=evaluation,
                    latest_materialization_storage_id=materialized,
                    latest_target_materialization_storage_id=target))
        return infos


def row_count_of(text: str) -> int | None:
    """The row count in a serialized materialization event, read from its text when Dagster's
    layout is recognised, else from the decoded event."""
    found = _ROW_COUNT_TEXT.search(text)
    if found is not None:
        return int(found.group(1))
    if json.dumps(naming.ROW_COUNT) not in text:
        return None
    return recorded_rows(dg.deserialize_value(text, dg.EventLogEntry))


def recorded_rows(entry: dg.EventLogEntry | dg.EventLogRecord) -> int | None:
    """The row count a materialization records (None: none, or not a count)."""
    mat = entry.asset_materialization
    value = mat.metadata.get(naming.ROW_COUNT) if mat is not None else None
    return int(value.value) if isinstance(value, dg.IntMetadataValue) and value.value is not None \
        else None

