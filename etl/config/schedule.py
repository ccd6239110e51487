"""The ``schedule:`` block: when the daily job runs and which days exist."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from etl.model.base import StrictModel

MAX_DAYS_PER_RUN = 4_000
"""Days one run may cover. Dagster records a planned result of every asset check for every day
of a run in one SQL statement of eight values per day, and SQLite takes at most 32,766 values
per statement (its default since 3.32), so a local instance fails a run of more than 4,095
days with ``too many SQL variables`` before it starts
(``tests/unit/test_cli_runs.py::test_a_run_of_the_most_days_fits_sqlites_statements``)."""


class ScheduleConfig(StrictModel):
    cron: str = Field(default="0 2 * * *", description="When daily_etl_job runs (cron).")
    timezone: str = Field(default="UTC", description="IANA time zone for cron and partitions.")
    start_date: dt.date = Field(description="First daily partition (YYYY-MM-DD).")
    enabled: bool = Field(default=False, description="Start schedules running when deployed.")
    master_sync_cron: str | None = Field(
        default=None, description="Optional cron for master_sync_job; omit for no schedule."
    )
    lookback_days: int = Field(
        default=1, ge=1, le=366,
        description=(
            "Days each scheduled daily run covers, ending with the last complete day; above 1 "
            "the run re-reads the days before it too, catching rows that arrived or changed "
            "late (each day is replaced, never duplicated)."
        ),
    )

    @field_validator("start_date", mode="before")
    @classmethod
    def _day(cls, value: object) -> object:
        """A day written as text; YAML hands dates over unparsed, so this is the one judge."""
        if isinstance(value, dt.date):
            return value
        if not isinstance(value, str):
            raise ValueError("not a day; write it as YYYY-MM-DD, e.g. 2026-01-01")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as e:
            raise ValueError(
                f"is not a day ({e}); write it as YYYY-MM-DD, e.g. 2026-01-01"
            ) from None

    @field_validator("cron", "master_sync_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        import dagster as dg  # the schedule itself is the judge of what cron Dagster accepts

        if value is None:
            return value
        try:
            dg.ScheduleDefinition(name="cron_check", cron_schedule=value, job_name="cron_check")
        except dg.DagsterInvalidDefinitionError:
            raise ValueError(
                "not a valid cron expression; use five fields, e.g. '0 2 * * *' (02:00 daily)"
            ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like Asia/Seoul"
            ) from e
        return value


class BackfillConfig(StrictModel):
    """How a range of days (a backfill, a lookback) is split into runs and source queries."""

    days_per_run: int | None = Field(
        default=None, ge=1, le=MAX_DAYS_PER_RUN,
        description=(
            "At most this many days per run when Dagster backfills a range (a failed run then "
            "redoes only its days); omit for one run over the whole range. At most 4,000: a "
            "run of more days fails in Dagster's SQLite storage (see the README's limits)."
        ),
    )
    days_per_scan: int = Field(
        default=366, ge=1, le=100_000,
        description=(
            "A range run reads the source with one query per this many days, ordered by the "
            "date column; memory does not depend on it, the length of each query does."
        ),
    )
