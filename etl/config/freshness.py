"""The ``freshness:`` block: by when each day must be loaded, in the tenant's time zone.

Written once for the tenant and optionally per pipeline (a pipeline's block replaces the
tenant's). Without a ``deadline`` a day is due a few hours after the daily schedule's first run
once the day is over, so a tenant with a schedule gets a sensible deadline without writing one.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from pydantic import Field, field_validator

from etl.model.base import StrictModel

DEFAULT_GRACE: Final = dt.timedelta(hours=3)
"""Without a deadline: how long after the schedule's run a day may take to be loaded."""
_CLOCK: Final = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class FreshnessConfig(StrictModel):
    """When a day of a daily pipeline is late."""

    enabled: bool = Field(default=True, description="false: no freshness check.")
    deadline: str | None = Field(
        default=None,
        description=(
            "HH:MM in the tenant's time zone, on the day after the partition's day (see "
            "days_after), by which the day must be loaded. Default: 3 hours after the first "
            "run of schedule.cron once the day is over."
        ),
    )
    days_after: int = Field(
        default=1, ge=1, le=31,
        description="The deadline is on this many days after the partition's day (default 1).",
    )

    @field_validator("deadline")
    @classmethod
    def _clock_time(cls, value: str | None) -> str | None:
        if value is not None and not _CLOCK.match(value):
            raise ValueError("not a time of day; write HH:MM on a 24-hour clock, e.g. '06:30'")
        return value

    @property
    def deadline_time(self) -> dt.time | None:
        return dt.time.fromisoformat(self.deadline) if self.deadline else None
