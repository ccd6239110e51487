"""Provenance tags on the step's own materializations, so Dagster can tell what is stale.

The step reports each day with an ``AssetMaterialization`` of its own. Dagster writes the tags
it judges staleness by (code version, data version, and per upstream asset the data version and
event it was computed from) only on outputs, so here they are added to each day's event the
same way, naming the *same day* of the upstream asset. Without them every downstream day would
look stale forever, or never.

A day's data version is a hash of its code version, its inputs' data versions, and what it
wrote (rows and bytes): rerunning a stage that writes the same file changes nothing downstream,
while a rerun that picks up late rows marks the next stage stale for that day.

Upstream days are looked up in the instance in one query per stage, just before the first
day that needs them: events are stored as the step yields them, and a pipeline's stage ends
before its next stage begins, so the upstream's days are all there by then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.definitions.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_TAG,
    get_input_data_version_tag,
    get_input_event_pointer_tag,
)

from etl.stages.events import StepEvent
from etl.stages.outcome import BYTES, ROW_COUNT

NULL_POINTER = "NULL"
Version = tuple[str, int | None]  # (data version, storage id) of one upstream day


@dataclass
class Provenance:
    """Stamps one step's materializations; ``days`` are the step's (None: master data)."""

    instance: dg.DagsterInstance
    code_versions: Mapping[dg.AssetKey, str]
    upstream: Mapping[dg.AssetKey, dg.AssetKey]
    days: Sequence[str] | None
    _known: dict[tuple[dg.AssetKey, str | None], Version] = field(default_factory=dict)

    def stamped(self, events: Iterator[StepEvent]) -> Iterator[StepEvent]:
        try:
            for event in events:
                yield self.stamp(event) if isinstance(event, dg.AssetMaterialization) else event
        finally:  # a stopped run: the runner's own clean-up must run now
            close = getattr(events, "close", None)
            if close is not None:
                close()

    def stamp(self, event: dg.AssetMaterialization) -> dg.AssetMaterialization:
        key, day = event.asset_key, event.partition
        code = self.code_versions.get(key)
        if code is None:
            return event
        tags = {CODE_VERSION_TAG: code}
        inputs: list[str] = []
        parent = self.upstream.get(key)
        if parent is not None:
            version, pointer = self._input(parent, day)
            tags[get_input_data_version_tag(parent)] = version
            tags[get_input_event_pointer_tag(parent)] = (
                str(pointer) if pointer is not None else NULL_POINTER)
            inputs.append(version)
        meta = event.metadata
        wrote = [str(_value(meta.get(ROW_COUNT))), str(_value(meta.get(BYTES)))]
        tags[DATA_VERSION_TAG] = _hash([code, *inputs, *wrote])
        # This day of ``key`` now has a new event: a later stage must look it up afresh.
        self._known.pop((key, day), None)
        return dg.AssetMaterialization(
            asset_key=key, partition=day, description=event.description,
            metadata=dict(meta), tags={**(event.tags or {}), **tags},
        )

    def _input(self, parent: dg.AssetKey, day: str | None) -> Version:
        if (parent, day) not in self._known:
            self._load(parent, day)
        return self._known.get((parent, day), (NULL_POINTER, None))

    def _load(self, parent: dg.AssetKey, day: str | None) -> None:
        """The latest event of ``parent`` for every step day not known yet (one query)."""
        ids: dict[str | None, int] = {}
        if day is None:
            records = self.instance.fetch_materializations(parent, limit=1).records
            ids = {None: records[0].storage_id} if records else {}
        else:
            wanted = {d for d in (self.days or [day]) if (parent, d) not in self._known}
            found = self.instance.get_latest_storage_id_by_partition(
                parent, dg.DagsterEventType.ASSET_MATERIALIZATION, wanted | {day})
            ids.update(found)
            records = self.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=parent, storage_ids=list(ids.values())),
                limit=max(1, len(ids)),
            ).records if ids else []
        by_id = {r.storage_id: r for r in records}
        for d, storage_id in ids.items():
            record = by_id.get(storage_id)
            tags = (record.event_log_entry.tags or {}) if record else {}
            self._known[(parent, d)] = (tags.get(DATA_VERSION_TAG, "INITIAL"), storage_id)


def _value(entry: object) -> object:
    return getattr(entry, "value", entry)


def _hash(parts: list[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
