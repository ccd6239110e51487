"""Daily partitions and the source time window each one covers."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import dagster as dg


@lru_cache(maxsize=None)
def daily_partitions(start_date: dt.date, timezone: str) -> dg.DailyPartitionsDefinition:
    """One shared definition per (start, zone): tenants with equal settings share the object."""
    return dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone=timezone)


def day_window(partition_key: str) -> tuple[dt.datetime, dt.datetime]:
    """``[day 00:00, next day 00:00)`` as naive wall-clock times in the tenant's zone."""
    day = dt.date.fromisoformat(partition_key)
    start = dt.datetime.combine(day, dt.time())
    return start, start + dt.timedelta(days=1)
