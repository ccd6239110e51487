"""What a reconcile run found, and which days a heal run extracts again.

A reconcile run records one ``matches_source`` result per pipeline and day
(:mod:`etl.stages.reconcile`); its ``reconcile_status`` says ``equal``, ``differs`` or
``changing``. A heal covers the days that differ, the oldest first, at most
``reconcile.max_days_per_heal`` of them, in one run of ``daily_etl_job`` that names them in its
``etl/days`` tag instead of a partition range and selects no check, so Dagster plans nothing for
the days between (the step records the checks of its own days). Days still being written
(``changing``) are left out and reported. Both ``etl reconcile --heal`` and the tenant's heal
sensor plan with this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import dagster as dg

from etl import naming

STATUS: Final = "reconcile_status"  # as etl.stages.reconcile writes it
RECONCILE_RUN_TAG: Final = "etl/reconcile_run"


@dataclass(frozen=True)
class DayFinding:
    pipeline: str
    day: str
    status: str  # equal, differs, changing
    source_rows: int
    loaded_rows: int
    text: str


def findings(instance: dg.DagsterInstance, run_id: str) -> list[DayFinding]:
    """Every ``matches_source`` result a reconcile run recorded."""
    out: list[DayFinding] = []
    cursor = None
    while True:
        found = instance.get_records_for_run(
            run_id, cursor=cursor, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
            limit=10_000)
        for record in found.records:
            event = record.event_log_entry.dagster_event
            data = event.event_specific_data if event is not None else None
            if not isinstance(data, dg.AssetCheckEvaluation) or data.partition is None or \
                    data.check_name != naming.SOURCE_CHECK:
                continue
            meta = data.metadata
            out.append(DayFinding(
                pipeline=data.asset_key.path[-1], day=data.partition,
                status=str(_value(meta.get(STATUS)) or ("equal" if data.passed else "differs")),
                source_rows=int(_value(meta.get(naming.SOURCE_ROWS)) or 0),
                loaded_rows=int(_value(meta.get("loaded_rows")) or 0),
                text=data.description or ""))
        cursor = found.cursor
        if not found.has_more:
            return sorted(out, key=lambda f: (f.pipeline, f.day))


@dataclass(frozen=True)
class HealPlan:
    days: tuple[str, ...]  # extracted again, oldest first
    pipelines: tuple[str, ...]
    left: tuple[str, ...]  # days that differ beyond max_days_per_heal: the next heal's
    changing: tuple[DayFinding, ...]

    def tags(self, reconcile_run_id: str) -> dict[str, str]:
        """The heal run's tags: the days it touches, and why it runs.

        No partition tags: a range over scattered days would make Dagster plan one event per
        asset and day of the whole range (thousands, for days years apart), where a run without
        a partition plans one per asset; the step takes its days from ``etl/days``.
        """
        return {naming.DAYS_TAG: ",".join(self.days), naming.REASON_TAG: "heal",
                RECONCILE_RUN_TAG: reconcile_run_id}

    def assets(self, keys: Sequence[dg.AssetKey]) -> list[dg.AssetKey]:
        """Of a job's assets, those of the pipelines to heal (every stage)."""
        return sorted((k for k in keys if k.path[-1] in self.pipelines),
                      key=lambda k: list(k.path))


def plan_heal(found: Sequence[DayFinding], max_days: int) -> HealPlan:
    differ = sorted({f.day for f in found if f.status == "differs"})
    days = tuple(differ[:max_days])
    pipelines = tuple(sorted({f.pipeline for f in found
                              if f.status == "differs" and f.day in days}))
    return HealPlan(days, pipelines, tuple(differ[max_days:]),
                    tuple(f for f in found if f.status == "changing"))


def _value(entry: object) -> Any:
    return getattr(entry, "value", entry)
