"""What the step's events carry besides what the stages report, added as they leave the step.

A materialization gets its provenance (:mod:`etl.stages.provenance`); a day's check result gets
the materialization it judged. Dagster counts a result for a day only when it names that day's
latest materialization (by storage id): without it, a check's *Partitions* tab shows the day as
Missing, and the day's status does not follow its newest result.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from etl.instance.private import CheckTarget
from etl.stages.events import StepEvent
from etl.stages.latest import LatestMaterializations
from etl.stages.provenance import Provenance


def stamped(events: Iterator[StepEvent], latest: LatestMaterializations,
            provenance: Provenance) -> Iterator[StepEvent]:
    try:
        for event in events:
            if isinstance(event, dg.AssetMaterialization):
                yield provenance.stamp(event)
            elif isinstance(event, dg.AssetCheckEvaluation):
                yield with_target(event, latest)
            else:
                yield event
    finally:  # a stopped run: the runner's own clean-up must run now
        close = getattr(events, "close", None)
        if close is not None:
            close()


def with_target(event: dg.AssetCheckEvaluation,
                latest: LatestMaterializations) -> dg.AssetCheckEvaluation:
    """The result naming the latest materialization of its day (none yet: left as it is)."""
    if event.target_materialization_data is not None:
        return event
    record = latest.record(event.asset_key, event.partition)
    if record is None:
        return event
    target = CheckTarget(storage_id=record.storage_id, run_id=record.run_id,
                         timestamp=record.timestamp)
    return dg.AssetCheckEvaluation(
        asset_key=event.asset_key, check_name=event.check_name, passed=event.passed,
        metadata=event.metadata, target_materialization_data=target, severity=event.severity,
        description=event.description, blocking=event.blocking, partition=event.partition)
