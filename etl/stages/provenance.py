"""Provenance tags on the step's own materializations, so Dagster can tell what is stale.

The step reports each day with an ``AssetMaterialization`` of its own. Dagster writes the tags
it judges staleness by (code version, data version, and per upstream asset the data version and
event it was computed from) only on outputs, so here they are added to each day's event the
same way, naming the *same day* of the upstream asset. Without them every downstream day would
look stale forever, or never.

A day's data version is a hash of its code version, its inputs' data versions, and what it
wrote (rows and bytes): rerunning a stage that writes the same file changes nothing downstream,
while a rerun that picks up late rows marks the next stage stale for that day.

Upstream days are looked up in the instance in bulk (:mod:`etl.stages.latest`), just before
the first day that needs them: a pipeline's stage ends before its next stage begins, so the
upstream's days are all there by then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from etl.instance.private import (
    CODE_VERSION_TAG,
    DATA_VERSION_TAG,
    get_input_data_version_tag,
    get_input_event_pointer_tag,
)
from etl.stages.latest import LatestMaterializations
from etl.stages.outcome import BYTES, ROW_COUNT

NULL_POINTER = "NULL"
Version = tuple[str, int | None]  # (data version, storage id) of one upstream day


@dataclass
class Provenance:
    """Stamps one step's materializations with the tags Dagster judges staleness by."""

    latest: LatestMaterializations
    code_versions: Mapping[dg.AssetKey, str]
    upstream: Mapping[dg.AssetKey, dg.AssetKey]

    def upstream_of(self, key: dg.AssetKey) -> dg.AssetKey | None:
        """The asset whose day ``key``'s stamp reads (None: no code version, or no parent)."""
        return self.upstream.get(key) if key in self.code_versions else None

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
        # This day of ``key`` now has a new event: a later stage must look it up afresh (and
        # can take its data version from here).
        self.latest.stamped(key, day, tags[DATA_VERSION_TAG])
        return dg.AssetMaterialization(
            asset_key=key, partition=day, description=event.description,
            metadata=dict(meta), tags={**(event.tags or {}), **tags},
        )

    def _input(self, parent: dg.AssetKey, day: str | None) -> Version:
        head = self.latest.head(parent, day)
        if head is None:
            return NULL_POINTER, None
        version = self.latest.data_version(parent, day, head)
        return version or "INITIAL", head.storage_id


def _value(entry: object) -> object:
    return getattr(entry, "value", entry)


def _hash(parts: list[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
