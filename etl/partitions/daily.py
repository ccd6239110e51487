"""Daily partitions: one definition per (start date, time zone), and the day a run takes."""

from __future__ import annotations

import datetime as dt
from functools import cache

import dagster as dg


@cache
def daily_partitions(start_date: dt.date, timezone: str) -> dg.DailyPartitionsDefinition:
    """One shared definition per (start, zone): tenants with equal settings share the object."""
    return dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone=timezone)


def last_complete_day(now: dt.datetime, timezone: str, start_date: dt.date) -> str | None:
    """The partition a run at ``now`` should process: yesterday in the tenant's zone."""
    from zoneinfo import ZoneInfo

    day = now.astimezone(ZoneInfo(timezone)).date() - dt.timedelta(days=1)
    return day.isoformat() if day >= start_date else None
