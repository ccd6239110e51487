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

from etl.instance.newest import event_heads, newest_ids
from etl.instance.private import DATA_VERSION_TAG, SqlEventLogStorage

Day = tuple[dg.AssetKey, str | None]


@dataclass(frozen=True)
class Head:
    """What stamping needs of a materialization: read from the event log's own columns, so no
    event is decoded (decoding them was most of a long range's stamping)."""

    storage_id: int
    run_id: str
    timestamp: float


@dataclass
class LatestMaterializations:
    """A cache of (asset, day) -> latest materialization, filled per asset in bulk.

    ``run_id``: the step's run. A materialization this step stamped (:meth:`stamped`) keeps its
    data version here, so a later stage's provenance does not read the event back.
    """

    instance: dg.DagsterInstance
    days: Sequence[str] | None  # the step's days (None: master data)
    run_id: str | None = None
    _known: dict[Day, dg.EventLogRecord | None] = field(default_factory=dict)
    _heads: dict[Day, Head | None] = field(default_factory=dict)
    _versions: dict[Day, str] = field(default_factory=dict)

    def record(self, key: dg.AssetKey, day: str | None) -> dg.EventLogRecord | None:
        """The whole record (its metadata decoded)."""
        if (key, day) not in self._known:
            self._load(key, day)
        return self._known.get((key, day))

    def head(self, key: dg.AssetKey, day: str | None) -> Head | None:
        """The day's latest materialization (a daily asset's other step days looked up with
        it)."""
        if (key, day) not in self._heads:
            others = self.days if day is not None and self.days is not None else ()
            self.prefetch([(key, day), *((key, d) for d in others)])
        return self._heads.get((key, day))

    def data_version(self, key: dg.AssetKey, day: str | None, head: Head) -> str | None:
        """The data version of ``head``: as this step stamped it, else read from the event."""
        if head.run_id == self.run_id and (key, day) in self._versions:
            return self._versions[(key, day)]
        record = self.record(key, day)
        if record is None:
            return None
        return (record.event_log_entry.tags or {}).get(DATA_VERSION_TAG)

    def knows(self, key: dg.AssetKey, day: str | None) -> bool:
        return (key, day) in self._heads

    def prefetch(self, wanted: Iterable[Day]) -> None:
        """Look up many (asset, day) pairs of many assets at once: the newest ids of all of
        them in one grouped query (which writes this process's buffered events first), their
        run and time in one more. A step stamping a batch of events asks this once for it."""
        todo = [pair for pair in dict.fromkeys(wanted) if pair not in self._heads]
        storage = self.instance.event_log_storage
        if not todo:
            return
        if not isinstance(storage, SqlEventLogStorage):
            for pair in todo:
                record = self.record(*pair)
                self._heads[pair] = None if record is None else Head(
                    record.storage_id, record.run_id, record.timestamp)
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
        heads = event_heads(storage, sorted({ids[pair] for pair in todo if pair in ids}))
        for pair in todo:
            found = ids.get(pair)
            head = heads.get(found) if found is not None else None
            self._heads[pair] = Head(found, *head) if found is not None and head else None

    def stamped(self, key: dg.AssetKey, day: str | None, version: str) -> None:
        """This step is storing a new materialization of ``key``'s ``day`` with data version
        ``version``: look the day up afresh next time."""
        self._known.pop((key, day), None)
        self._heads.pop((key, day), None)
        self._versions[(key, day)] = version

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
