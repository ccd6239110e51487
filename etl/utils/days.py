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


def scheduled_days(now: dt.datetime, timezone: str, start_date: dt.date,
                   lookback_days: int = 1) -> list[str]:
    """The days a run at ``now`` covers: the last complete day and the ``lookback_days - 1``
    before it, never before ``start_date`` (empty if no day is complete yet)."""
    last = last_complete_day(now, timezone, start_date)
    if last is None:
        return []
    end = dt.date.fromisoformat(last)
    first = max(start_date, end - dt.timedelta(days=lookback_days - 1))
    return day_range(first, end)


def day_range(first: dt.date, last: dt.date) -> list[str]:
    """Every day from ``first`` to ``last``, inclusive, as ``YYYY-MM-DD``."""
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def contiguous(days: list[str]) -> list[list[str]]:
    """Sorted days cut into runs of consecutive days (a heal's scattered days: one read each)."""
    blocks: list[list[str]] = []
    for day in sorted(days):
        if blocks and dt.date.fromisoformat(day) - dt.date.fromisoformat(blocks[-1][-1]) == \
                dt.timedelta(days=1):
            blocks[-1].append(day)
        else:
            blocks.append([day])
    return blocks
