"""Stamping a step's events in batches: every event reaches Dagster once, each pipeline's
events of a day in the order they came, and the materializations they name are looked up in
one grouped read per release, not one per event."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import dagster as dg

from etl.instance.private import (
    DATA_VERSION_TAG,
    get_input_data_version_tag,
    get_input_event_pointer_tag,
)
from etl.stages.events import IDLE, Idle, StepEvent
from etl.stages.latest import Day, LatestMaterializations
from etl.stages.provenance import Provenance
from etl.stages.stamps import stamped

STAGES = ("extract", "transfer", "load")
DAY = "2026-03-01"


def key(stage: str, pipeline: str) -> dg.AssetKey:
    return dg.AssetKey(["t", stage, pipeline])


@dataclass
class Record:
    storage_id: int
    run_id: str = "r"
    timestamp: float = 0.0

    @property
    def event_log_entry(self) -> Any:
        return type("Entry", (), {"tags": {"dagster/data_version": f"v{self.storage_id}"}})()


@dataclass
class FakeLatest:
    """Answers as the instance would: a materialization is found once it was yielded (stored)
    before the lookup."""

    stored: dict[Day, int] = field(default_factory=dict)
    known: dict[Day, Record | None] = field(default_factory=dict)
    reads: list[list[Day]] = field(default_factory=list)

    def knows(self, k: dg.AssetKey, day: str | None) -> bool:
        return (k, day) in self.known

    def prefetch(self, wanted: Iterable[Day]) -> None:
        todo = [p for p in dict.fromkeys(wanted) if p not in self.known]
        if todo:
            self.reads.append(todo)
        for pair in todo:
            found = self.stored.get(pair)
            self.known[pair] = Record(found) if found is not None else None

    versions: dict[Day, str] = field(default_factory=dict)

    def head(self, k: dg.AssetKey, day: str | None) -> Record | None:
        if (k, day) not in self.known:
            self.prefetch([(k, day)])
        return self.known[(k, day)]

    def data_version(self, k: dg.AssetKey, day: str | None, head: Record) -> str:
        return self.versions[(k, day)]  # every parent here was stamped by this step

    def stamped(self, k: dg.AssetKey, day: str | None, version: str) -> None:
        self.known.pop((k, day), None)
        self.versions[(k, day)] = version


def events(pipelines: int, idle_after: int | None = None) -> Iterator[StepEvent | Idle]:
    """Each pipeline's three stages and a check on its load, the pipelines interleaved."""
    for stage in STAGES:
        for p in range(pipelines):
            if idle_after is not None and p == idle_after:
                yield IDLE
            yield dg.AssetMaterialization(asset_key=key(stage, f"p{p}"), partition=DAY)
    for p in range(pipelines):
        yield dg.AssetCheckEvaluation(asset_key=key("load", f"p{p}"), check_name="rows",
                                      passed=True, partition=DAY)


def run(pipelines: int, idle_after: int | None = None) -> tuple[list[StepEvent], FakeLatest]:
    latest = FakeLatest()
    upstream = {key(s, f"p{p}"): key(STAGES[i - 1], f"p{p}")
                for i, s in enumerate(STAGES) if i for p in range(pipelines)}
    versions = {key(s, f"p{p}"): "c1" for s in STAGES for p in range(pipelines)}
    provenance = Provenance(cast(LatestMaterializations, latest), versions, upstream)
    out: list[StepEvent] = []
    for event in stamped(events(pipelines, idle_after), cast(LatestMaterializations, latest),
                         provenance):
        out.append(event)
        if isinstance(event, dg.AssetMaterialization):  # Dagster stores it as it is yielded
            latest.stored[(event.asset_key, event.partition)] = len(out)
    return out, latest


def test_every_event_once_in_its_pipelines_order_with_one_read_per_stage() -> None:
    out, latest = run(pipelines=27)
    assert len(out) == 27 * 4
    for p in range(27):
        mine = [e for e in out if e.asset_key.path[-1] == f"p{p}"]
        assert [e.asset_key.path[1] for e in mine] == [*STAGES, "load"]
        assert isinstance(mine[-1], dg.AssetCheckEvaluation)
        assert mine[-1].target_materialization_data is not None
        assert mine[-1].target_materialization_data.storage_id == out.index(mine[2]) + 1
        for parent, child in itertools.pairwise(mine[:3]):
            pointer = child.tags[get_input_event_pointer_tag(parent.asset_key)]
            assert pointer == str(out.index(parent) + 1)
            assert child.tags[get_input_data_version_tag(parent.asset_key)] == \
                parent.tags[DATA_VERSION_TAG]
    # transfer, load and check of 27 pipelines: three reads, not 81
    assert [len(r) for r in latest.reads] == [27, 27, 27]


def test_a_quiet_moment_releases_what_is_held() -> None:
    out, latest = run(pipelines=4, idle_after=2)
    assert len(out) == 16 and len(latest.reads) >= 3
    assert all(p is not None for r in latest.reads for p in r)


def test_a_head_is_the_latest_materialization_read_without_decoding_it() -> None:
    """On a real instance: each day's head is its latest materialization (id, run, time); a
    data version this step stamped comes from the step, any other from the event itself."""
    with dg.instance_for_test() as instance:
        asset = key("extract", "p0")
        for version in ("old", "new"):
            for day in ("2026-03-01", "2026-03-02"):
                instance.report_runless_asset_event(dg.AssetMaterialization(
                    asset_key=asset, partition=day, tags={DATA_VERSION_TAG: version}))
        records: dict[str | None, Any] = {}
        for record in instance.fetch_materializations(asset, limit=10).records:  # newest first
            records.setdefault(record.partition_key, record)
        latest = LatestMaterializations(instance, ["2026-03-01", "2026-03-02"], "run-x")
        for day, record in records.items():
            head = latest.head(asset, day)
            assert head is not None and head.storage_id == record.storage_id
            assert head.run_id == record.run_id
            assert abs(head.timestamp - record.timestamp) < 1e-5
            assert latest.data_version(asset, day, head) == "new"
        assert latest.head(asset, "2026-03-03") is None
        latest.stamped(asset, "2026-03-01", "mine")  # but the head is another run's event
        head = latest.head(asset, "2026-03-01")
        assert head is not None
        assert latest.data_version(asset, "2026-03-01", head) == "new"
        mine = LatestMaterializations(instance, None, head.run_id)
        mine.stamped(asset, "2026-03-01", "mine")
        assert mine.data_version(asset, "2026-03-01", head) == "mine"
