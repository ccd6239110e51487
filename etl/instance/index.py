"""The index rows of a batch of events, as Dagster's per-event writes leave them.

For each stored event, ``SqlEventLogStorage.store_event`` also writes, besides its row in
``event_logs``: an asset event's indexed tags (``asset_event_tags``) and its asset's row
(``asset_keys``, one upsert per event); a check event's row in ``asset_check_executions`` (a
planned check inserts one row per partition, a result updates its planned row or inserts one).
Here the same rows are written for a whole batch in one transaction: the tags in one insert,
one upsert per asset instead of per event (the last event of each kind decides each column,
as the sequence of upserts would), and the check rows with one read of the run's planned rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

import dagster as dg
import sqlalchemy as sa

from etl.instance.private import (
    ASSET_CHECK_EVENTS,
    ASSET_EVENTS,
    AssetCheckExecutionsTable,
    CheckPlannedData,
    SqlEventLogStorage,
)
from etl.instance.private import (
    AssetCheckExecutionRecordStatus as CheckStatus,
)

Upsert = Callable[[sa.Connection, str, Mapping[str, Any]], None]
CheckRow = tuple[str, str, str, str | None]  # (asset key, check, run id, partition)


class Stored(NamedTuple):
    """An event as stored: its storage id and its serialized form (the ``event`` column)."""

    event: dg.EventLogEntry
    storage_id: int
    body: str


def write_index_rows(storage: SqlEventLogStorage, conn: sa.Connection, stored: Sequence[Stored],
                     has_index_cols: bool, upsert: Upsert) -> None:
    """Everything ``store_event`` writes for these events outside ``event_logs``."""
    assets = [s for s in stored if s.event.dagster_event_type in ASSET_EVENTS
              and _event(s).asset_key is not None]
    if assets:
        storage._store_asset_event_tags(conn, [s.event for s in assets],
                                        [s.storage_id for s in assets])
        for key, values in asset_key_values(storage, assets, has_index_cols).items():
            upsert(conn, key, values)
    checks = [s for s in stored if s.event.dagster_event_type in ASSET_CHECK_EVENTS]
    if checks:
        write_check_rows(storage, conn, checks)


def asset_key_values(storage: SqlEventLogStorage, assets: Sequence[Stored],
                     has_index_cols: bool) -> dict[str, dict[str, Any]]:
    """Each asset's column values after the batch's upserts, one after the other.

    Events of one kind set the same columns, so the last event of each kind per asset is the
    only one whose values can survive; those are folded in the order they came.
    """
    last: dict[tuple[str, dg.DagsterEventType | None], int] = {}
    for position, s in enumerate(assets):
        last[(_key(s), s.event.dagster_event_type)] = position
    merged: dict[str, dict[str, Any]] = {}
    for key, _ in last:
        merged.setdefault(key, {})
    for position in sorted(last.values()):
        s = assets[position]
        merged[_key(s)].update(storage._get_asset_entry_values(s.event, s.storage_id,
                                                               has_index_cols))
    return merged


def write_check_rows(storage: SqlEventLogStorage, conn: sa.Connection,
                     checks: Sequence[Stored]) -> None:
    """``store_asset_check_event`` for each event: planned rows, then each result in order
    updating its planned row (or inserted, without one; a later result for the same row wins)."""
    table = AssetCheckExecutionsTable
    planned = [row for s in checks
               if s.event.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
               for row in _planned_rows(storage, s)]
    if planned:
        conn.execute(table.insert(), planned)
    results = [s for s in checks
               if s.event.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
    if not results:
        return
    existing = _planned_ids(conn, results)
    updates: list[dict[str, Any]] = []
    inserts: dict[CheckRow, dict[str, Any]] = {}
    for s in results:  # buffered events all belong to a run
        data = _evaluation(s)
        values = _result_values(storage, s, data)
        row = {"asset_key": data.asset_key.to_string(), "check_name": data.check_name,
               "run_id": s.event.run_id, **values}
        found = existing.get(_row_key(s, data), [])
        if len(found) > 1:
            raise dg.DagsterInvariantViolationError(
                f"Updated {len(found)} rows for asset check evaluation {data.asset_check_key} "
                "as a result of duplicate AssetCheckPlanned events.")
        if found:
            updates.append({"b_id": found[0], **{f"b_{k}": v for k, v in values.items()}})
        else:
            inserts[_row_key(s, data)] = row
    if updates:
        columns = [k[2:] for k in updates[0] if k != "b_id"]
        conn.execute(table.update().where(table.c.id == sa.bindparam("b_id"))
                     .values(**{c: sa.bindparam(f"b_{c}") for c in columns}), updates)
    if inserts:
        conn.execute(table.insert(), list(inserts.values()))


def _planned_rows(storage: SqlEventLogStorage, s: Stored) -> list[dict[str, Any]]:
    data = cast(CheckPlannedData, _event(s).event_specific_data)
    partitions: list[str | None] = (
        list(data.partitions_subset.get_partition_keys()) if data.partitions_subset else [None])
    stamp = _insert_timestamp(storage, s.event)
    return [{"asset_key": data.asset_key.to_string(), "check_name": data.check_name,
             "partition": partition, "run_id": s.event.run_id,
             "execution_status": CheckStatus.PLANNED.value, "evaluation_event": s.body,
             "evaluation_event_timestamp": stamp, "evaluation_event_storage_id": s.storage_id}
            for partition in partitions]


def _planned_ids(conn: sa.Connection, results: Sequence[Stored]) -> dict[CheckRow, list[int]]:
    """The ids of the rows the results update: their runs' rows, by partition."""
    wanted: dict[tuple[str, str, str], set[str | None]] = defaultdict(set)
    for s in results:
        data = _evaluation(s)
        wanted[(data.asset_key.to_string(), data.check_name, s.event.run_id)].add(
            data.partition)
    table = AssetCheckExecutionsTable
    found: dict[CheckRow, list[int]] = defaultdict(list)
    for (key, check, run_id), partitions in wanted.items():
        query = sa.select(table.c.id, table.c.partition).where(
            table.c.asset_key == key, table.c.check_name == check, table.c.run_id == run_id)
        for row_id, partition in conn.execute(query):
            if partition in partitions:
                found[(key, check, run_id, partition)].append(int(row_id))
    return found


def _result_values(storage: SqlEventLogStorage, s: Stored,
                   data: dg.AssetCheckEvaluation) -> dict[str, Any]:
    target = data.target_materialization_data
    return {
        "execution_status": (CheckStatus.SUCCEEDED if data.passed else CheckStatus.FAILED).value,
        "evaluation_event": s.body,
        "evaluation_event_timestamp": _insert_timestamp(storage, s.event),
        "evaluation_event_storage_id": s.storage_id,
        "materialization_event_storage_id": target.storage_id if target else None,
        "partition": data.partition,
    }


def _insert_timestamp(storage: SqlEventLogStorage, event: dg.EventLogEntry) -> datetime:
    """The ``timestamp`` column's value, as the storage writes it (naive UTC)."""
    stamp: Callable[[dg.EventLogEntry], datetime] = storage._event_insert_timestamp
    return stamp(event)


def _row_key(s: Stored, data: dg.AssetCheckEvaluation) -> CheckRow:
    return (data.asset_key.to_string(), data.check_name, s.event.run_id, data.partition)


def _event(s: Stored) -> dg.DagsterEvent:
    return s.event.get_dagster_event()


def _evaluation(s: Stored) -> dg.AssetCheckEvaluation:
    return cast(dg.AssetCheckEvaluation, _event(s).event_specific_data)


def _key(s: Stored) -> str:
    key = _event(s).asset_key
    assert key is not None
    return key.to_string()
