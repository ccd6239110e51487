"""The Dagster events a step emits: one materialization per stage and day, one check per day.

A range run covers many days, yet every day must show in Dagster as its own materialization
(partition status, row count and bytes on the metadata plots) and its own check result, so
the step emits the events itself, each naming its partition, rather than one output for the
whole range (a run of one day takes the same path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from etl.stages.outcome import StageOutcome

StepEvent = dg.AssetMaterialization | dg.AssetCheckEvaluation


class Idle:
    """No event came from the pipelines for a while: a moment to release held events
    (:mod:`etl.stages.stamps`) while the stages work."""


IDLE = Idle()


def materialization(key: dg.AssetKey, day: str | None, outcome: StageOutcome,
                    last: bool = True) -> StepEvent:
    """One day's materialization; the column schema only on the ``last`` day of a range.

    Dagster shows an asset's columns from its latest materialization, which is the range's
    last day. The schema is the same for every day of one scan, and repeating it on each of
    thousands of days made each event a fifth to a quarter dearer to store (ad hoc, SQLite
    and in-memory instances).
    """
    return dg.AssetMaterialization(asset_key=key, partition=day,
                                   metadata=outcome.metadata(with_schema=last))


def check_evaluation(key: dg.AssetKey, check: str, day: str | None, passed: bool,
                     description: str, metadata: Mapping[str, Any], *,
                     blocking: bool = True) -> dg.AssetCheckEvaluation:
    """A check result for one day (or master data: ``day`` None).

    It names its day whatever the run covers (one day or a range); the materialization it
    judged is added as it leaves the step (:mod:`etl.stages.stamps`).
    """
    severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckEvaluation(
        asset_key=key, check_name=check, passed=passed, description=description,
        metadata=dict(metadata), blocking=blocking, partition=day, severity=severity,
    )
