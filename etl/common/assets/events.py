"""The Dagster events a step emits: one materialization per stage and day, one check per day.

A range run covers many days, yet every day must show in Dagster as its own materialization
(partition status, row count and bytes on the metadata plots) and its own check result, so
the step emits the events itself, each naming its partition, rather than one output for the
whole range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from etl.common.assets.outcome import StageOutcome

StepEvent = dg.AssetMaterialization | dg.AssetCheckEvaluation


def materialization(key: dg.AssetKey, day: str | None, outcome: StageOutcome) -> StepEvent:
    return dg.AssetMaterialization(asset_key=key, partition=day, metadata=outcome.metadata())


def check_evaluation(key: dg.AssetKey, check: str, day: str | None, passed: bool,
                     description: str, metadata: Mapping[str, Any],
                     blocking: bool = True) -> StepEvent:
    return dg.AssetCheckEvaluation(
        asset_key=key, check_name=check, passed=passed, description=description,
        metadata=dict(metadata), blocking=blocking, partition=day,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
    )
