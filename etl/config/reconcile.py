"""The ``reconcile:`` block: when the lake is compared with the source, and what is repaired.

Every daily pipeline's extract stores each day's fingerprint at the source (rows and a checksum,
:mod:`etl.sources.fingerprint`). A reconcile run takes the fingerprints again for the last
``window_days`` days and records, per day, whether the lake still matches (the ``matches_source``
check); with ``heal`` the days that differ are extracted, transferred and loaded again in one
run.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from etl.config.schedule import MAX_DAYS_PER_RUN
from etl.model.base import StrictModel


class ReconcileConfig(StrictModel):
    """Comparing the loaded days with the source, and healing the days that differ."""

    cron: str = Field(
        default="0 4 * * *",
        description="When reconcile_schedule runs (cron, in schedule.timezone); it starts "
                    "running when deployed with schedule.enabled.",
    )
    window_days: int = Field(
        default=90, ge=1, le=MAX_DAYS_PER_RUN,
        description="Days a scheduled reconcile compares, ending with the last complete day "
                    "(one run: at most 4,000 days, see backfill.days_per_run).",
    )
    heal: bool = Field(
        default=False,
        description="Extract, transfer and load again the days a reconcile found different, in "
                    "one run after it (etl reconcile --heal does the same once).",
    )
    max_days_per_heal: int = Field(
        default=31, ge=1, le=3_660,
        description="At most this many days per heal run (the oldest first); the rest wait for "
                    "the next reconcile.",
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        import dagster as dg  # the schedule itself is the judge of what cron Dagster accepts

        try:
            dg.ScheduleDefinition(name="cron_check", cron_schedule=value, job_name="cron_check")
        except dg.DagsterInvalidDefinitionError:
            raise ValueError(
                "not a valid cron expression for the reconcile schedule; use five fields, "
                "e.g. '0 4 * * *' (04:00 daily)"
            ) from None
        return value
