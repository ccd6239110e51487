"""The latest materialization of each day of an asset, looked up for many days at once.

Two steps need it while a step runs: provenance (the upstream day's data version) and check
results (the materialization each day's result judged, without which Dagster does not count the
result as that day's). One lookup per asset covers every day of the step: two queries, however
many days, where a query per day cost seconds per thousand days; :meth:`prefetch` covers many
assets in the same two queries, for the batches the step stamps (:mod:`etl.stages.stamps`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from etl.instance.newest import newest_ids
from etl.instance.private import SqlEventLogStorage

Day = tuple[dg.AssetKey, str | None]


@dataclass
class LatestMaterializations:
    """A cache of (asset, day) -> latest materialization record, filled per asset in bulk."""

    instance: dg.DagsterInstance
    days: Sequence[str] | None  # the step's days (None: master data)
    _known: dict[tuple[dg.AssetKey, str | None], dg.EventLogRecord | None] = field(
        default_factory=dict)

    def record(self, key: dg.AssetKey, day: str | None) -> dg.EventLogRecord | None:
        if (key, day) not in self._known:
            self._load(key, day)
        return self._known.get((key, day))

    def knows(self, key: dg.AssetKey, day: str | None) -> bool:
        return (key, day) in self._known

    def prefetch(self, wanted: Iterable[Day]) -> None:
        """Look up many (asset, day) pairs of many assets at once: the newest ids of all of
        them in one grouped query (which writes this process's buffered events first), their
        records in one more. A step stamping a batch of events asks this once for the batch."""
        todo = [pair for pair in dict.fromkeys(wanted) if pair not in self._known]
        storage = self.instance.event_log_storage
        if not todo:
            return
        if not isinstance(storage, SqlEventLogStorage):
            for key, day in todo:
                self._load(key, day)
            return
        kind = dg.DagsterEventType.ASSET_MATERIALIZATION
        daily = sorted({k for k, d in todo if d is not None}, key=lambda k: k.to_string())
        master = sorted({k for k, d in todo if d is None}, key=lambda k: k.to_string())
        ids: dict[Day, int] = {}
        if daily:
            ids.update(newest_ids(storage, daily, kind,
                                  sorted({d for _, d in todo if d is not None})))
        if master:
            ids.update(newest_ids(storage, master, kind))
        found = sorted({ids[pair] for pair in todo if pair in ids})
        records = storage.get_event_records(
            dg.EventRecordsFilter(event_type=kind, storage_ids=found),
            limit=len(found)) if found else []
        by_id = {r.storage_id: r for r in records}
        for pair in todo:
            self._known[pair] = by_id.get(ids.get(pair, -1))

    def forget(self, key: dg.AssetKey, day: str | None) -> None:
        """``key`` has a new event for ``day``: look it up afresh next time."""
        self._known.pop((key, day), None)

    def _load(self, key: dg.AssetKey, day: str | None) -> None:
        if day is None:
            records = self.instance.fetch_materializations(key, limit=1).records
            self._known[(key, None)] = records[0] if records else None
            return
        wanted = {d for d in (*(self.days or ()), day) if (key, d) not in self._known}
        ids = self.instance.get_latest_storage_id_by_partition(
            key, dg.DagsterEventType.ASSET_MATERIALIZATION, wanted)
        records = self.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, storage_ids=list(ids.values())),
            limit=max(1, len(ids)),
        ).records if ids else []
        by_id = {r.storage_id: r for r in records}
        for d in wanted:
            self._known[(key, d)] = by_id.get(ids.get(d, -1))


def previous_check_metadata(instance: dg.DagsterInstance, check: dg.AssetCheckKey,
                            days: Sequence[str], pages: int = 20
                            ) -> dict[str, Mapping[str, Any]]:
    """The metadata of each day's latest finished result of ``check``, newest results first,
    a page at a time (each reconcile run writes one per day of its window, so a page or two
    finds them all); at most ``pages`` pages are read."""
    from etl.instance.private import COMPLETED_CHECK_STATUSES

    wanted = set(days)
    out: dict[str, Mapping[str, Any]] = {}
    cursor: int | None = None
    size = max(200, 2 * len(wanted))
    for _ in range(pages):
        records = instance.event_log_storage.get_asset_check_execution_history(
            check, limit=size, cursor=cursor, status=set(COMPLETED_CHECK_STATUSES))
        for record in records:
            data = record.event.dagster_event.event_specific_data if (
                record.event is not None and record.event.dagster_event is not None) else None
            day = record.partition
            if day in wanted and day not in out and isinstance(data, dg.AssetCheckEvaluation):
                out[day] = data.metadata
        if len(records) < size or len(out) == len(wanted):
            return out
        cursor = records[-1].id
    return out
