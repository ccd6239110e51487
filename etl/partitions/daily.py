"""Daily partitions and the source time window each one covers."""

from __future__ import annotations

import datetime as dt
from functools import cache

import dagster as dg


@cache
def daily_partitions(start_date: dt.date, timezone: str) -> dg.DailyPartitionsDefinition:
    """One shared definition per (start, zone): tenants with equal settings share the object."""
    return dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone=timezone)


def day_window(partition_key: str) -> tuple[dt.datetime, dt.datetime]:
    """``[day 00:00, next day 00:00)`` as naive wall-clock times in the tenant's zone."""
    day = dt.date.fromisoformat(partition_key)
    start = dt.datetime.combine(day, dt.time())
    return start, start + dt.timedelta(days=1)


def last_complete_day(now: dt.datetime, timezone: str, start_date: dt.date) -> str | None:
    """The partition a run at ``now`` should process: yesterday in the tenant's zone."""
    from zoneinfo import ZoneInfo

    day = now.astimezone(ZoneInfo(timezone)).date() - dt.timedelta(days=1)
    return day.isoformat() if day >= start_date else None
