"""The newest event of a kind for many assets (per day, or per asset), in one grouped query.

What ``etl status`` reads of a fleet (:mod:`etl.instance.day_records`) and what the storages
prefetch for Dagster's status cache (:mod:`etl.instance.prefetch`) are the same question asked
of the event log's index: the highest storage id per asset (and partition), counting only the
events after each asset's last wipe, as Dagster's own reads count them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg
import sqlalchemy as sa

from etl.instance.private import SqlEventLogStorage, SqlEventLogStorageTable, add_wipe_filter

CHUNK = 400
"""Keys per query: well inside SQLite's and PostgreSQL's limits on bound parameters."""


def newest_ids(storage: SqlEventLogStorage, keys: Sequence[dg.AssetKey],
               event_type: dg.DagsterEventType, partitions: Sequence[str] | None = None
               ) -> dict[tuple[dg.AssetKey, str | None], int]:
    """(asset, partition) -> storage id of its newest ``event_type`` event: per partition in
    ``partitions``, or (``None``) per asset over all its events."""
    table = SqlEventLogStorageTable
    by_name = {key.to_string(): key for key in keys}
    grouping = [table.c.asset_key] if partitions is None else [table.c.asset_key,
                                                                table.c.partition]
    found: dict[tuple[dg.AssetKey, str | None], int] = {}
    for chunk in chunks(keys):
        query = (sa.select(*grouping, sa.func.max(table.c.id))
                 .where(table.c.asset_key.in_([k.to_string() for k in chunk]),
                        table.c.dagster_event_type == event_type.value)
                 .group_by(*grouping))
        if partitions is not None:
            query = query.where(table.c.partition.in_(list(partitions)))
        query = add_wipe_filter(storage, query, chunk)
        with storage.index_connection() as conn:
            for row in conn.execute(query):
                day = row[1] if partitions is not None else None
                found[(by_name[row[0]], day)] = int(row[-1])
    return found


def chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def event_heads(storage: SqlEventLogStorage, ids: Sequence[int]
                ) -> dict[int, tuple[str, float]]:
    """storage id -> (run id, timestamp) of those events, from the table's own columns: no
    event body is read or decoded."""
    table = SqlEventLogStorageTable
    found: dict[int, tuple[str, float]] = {}
    for chunk in chunks(ids):
        query = sa.select(table.c.id, table.c.run_id, table.c.timestamp).where(
            table.c.id.in_(list(chunk)))
        with storage.index_connection() as conn:
            for row in conn.execute(query):
                found[int(row[0])] = (str(row[1]), _epoch(row[2]))
    return found


def _epoch(value: Any) -> float:
    """The column's time (naive UTC, as Dagster stores it) as the event's own timestamp."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return float(value.timestamp())
