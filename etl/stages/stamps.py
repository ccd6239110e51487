"""What the step's events carry besides what the stages report, added as they leave the step.

A materialization gets its provenance (:mod:`etl.stages.provenance`); a day's check result gets
the materialization it judged. Dagster counts a result for a day only when it names that day's
latest materialization (by storage id): without it, a check's *Partitions* tab shows the day as
Missing, and the day's status does not follow its newest result.

Both name an event this step has just handed to Dagster (the extract a transfer read, the load
a check judged), whose storage id exists only once the event is written. Looked up one event
at a time, that was a write of the buffered events and two queries per stage of each pipeline:
81 of each for a day of 27 pipelines, a third of the step. So events that need a lookup are
held, with whatever follows them of the same pipeline and day (their order is kept), and
released together: once the step has been quiet for a while (:class:`etl.stages.events.Idle`),
once the oldest has waited :data:`HOLD_S`, and at the end. A release writes the buffer once
and looks up every held event's materialization in one grouped query
(:meth:`LatestMaterializations.prefetch`); each pipeline and day moves on by one event per
release, since the next one names the event just released. Events reach Dagster at most about
a second later than they happen. A step that fails still releases what it holds (the days that
succeeded count); a run stopped in the middle drops it, as a killed process drops its unwritten
buffer: those days show as not materialized, and a rerun records them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import dagster as dg

from etl.instance.private import CheckTarget
from etl.stages.events import Idle, StepEvent
from etl.stages.latest import Day, LatestMaterializations
from etl.stages.provenance import Provenance

HOLD_S = 1.0
"""The longest a held event waits for a release while other events keep coming."""

Chain = tuple[str, str | None]  # (pipeline, day): events that must reach Dagster in order


def stamped(events: Iterator[StepEvent | Idle], latest: LatestMaterializations,
            provenance: Provenance) -> Iterator[StepEvent]:
    held = Held(latest, provenance)
    failed: Exception | None = None
    try:
        try:
            for event in events:
                if isinstance(event, Idle):
                    yield from held.release()
                elif held.must_hold(event):
                    held.add(event)
                    if held.due():
                        yield from held.release()
                else:
                    yield held.stamp(event)
        except Exception as error:  # pipelines failed: the days that succeeded still count
            failed = error
        while held.events:
            yield from held.release()
        if failed is not None:
            raise failed
    finally:  # a stopped run: the runner's own clean-up must run now
        close = getattr(events, "close", None)
        if close is not None:
            close()


class Held:
    """The events waiting for the materializations they name to be written and looked up."""

    def __init__(self, latest: LatestMaterializations, provenance: Provenance) -> None:
        self.latest = latest
        self.provenance = provenance
        self.events: list[StepEvent] = []
        self._chains: set[Chain] = set()
        self._since = 0.0

    def must_hold(self, event: StepEvent) -> bool:
        if _chain(event) in self._chains:
            return True  # after an earlier held event of its pipeline and day
        needed = self._needs(event)
        return needed is not None and not self.latest.knows(*needed)

    def add(self, event: StepEvent) -> None:
        if not self.events:
            self._since = time.monotonic()
        self.events.append(event)
        self._chains.add(_chain(event))

    def due(self) -> bool:
        return time.monotonic() - self._since >= HOLD_S

    def release(self) -> Iterator[StepEvent]:
        """The first held event of each pipeline and day, looked up together; the rest wait
        for the next release (they may name one of these)."""
        if not self.events:
            return
        seen: set[Chain] = set()
        ready: list[StepEvent] = []
        waiting: list[StepEvent] = []
        for event in self.events:
            (waiting if _chain(event) in seen else ready).append(event)
            seen.add(_chain(event))
        self.latest.prefetch(n for e in ready if (n := self._needs(e)) is not None)
        self.events = waiting
        self._chains = {_chain(e) for e in waiting}
        self._since = time.monotonic()
        for event in ready:
            yield self.stamp(event)

    def stamp(self, event: StepEvent) -> StepEvent:
        if isinstance(event, dg.AssetMaterialization):
            return self.provenance.stamp(event)
        return with_target(event, self.latest)

    def _needs(self, event: StepEvent) -> Day | None:
        """The (asset, day) whose latest materialization stamping ``event`` reads."""
        if isinstance(event, dg.AssetMaterialization):
            parent = self.provenance.upstream_of(event.asset_key)
            return None if parent is None else (parent, event.partition)
        if event.target_materialization_data is not None:
            return None
        return event.asset_key, event.partition


def _chain(event: StepEvent) -> Chain:
    return event.asset_key.path[-1], event.partition


def with_target(event: dg.AssetCheckEvaluation,
                latest: LatestMaterializations) -> dg.AssetCheckEvaluation:
    """The result naming the latest materialization of its day (none yet: left as it is)."""
    if event.target_materialization_data is not None:
        return event
    head = latest.head(event.asset_key, event.partition)
    if head is None:
        return event
    target = CheckTarget(storage_id=head.storage_id, run_id=head.run_id,
                         timestamp=head.timestamp)
    return dg.AssetCheckEvaluation(
        asset_key=event.asset_key, check_name=event.check_name, passed=event.passed,
        metadata=event.metadata, target_materialization_data=target, severity=event.severity,
        description=event.description, blocking=event.blocking, partition=event.partition)
