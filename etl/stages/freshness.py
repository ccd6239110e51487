"""Whether each day of a daily pipeline was loaded by its deadline, in the tenant's time zone.

A day's deadline is ``freshness.deadline`` (HH:MM) ``days_after`` days after it, or, without
one, :data:`~etl.config.freshness.DEFAULT_GRACE` after the daily schedule's first run once the
day is over. The answer comes from the instance: the day passes if its last stage has a
materialization at or before the deadline, and fails otherwise: "not loaded" while it has
none, "loaded late" once it has one after the deadline (still a failure: it missed it).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

import dagster as dg

from etl.config.freshness import DEFAULT_GRACE, FreshnessConfig
from etl.config.schedule import ScheduleConfig
from etl.utils.days import day_range

WINDOW_DAYS = 7
"""The sensor looks at the days whose deadline passed within this many days."""

State = Literal["on_time", "missing", "late"]


@dataclass(frozen=True)
class Deadlines:
    """The deadline rule of one pipeline: its freshness block and the tenant's schedule."""

    freshness: FreshnessConfig
    schedule: ScheduleConfig

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.schedule.timezone)

    def of(self, day: str) -> dt.datetime:
        """The moment ``day`` is due (time-zone aware)."""
        return _deadline(day, self.schedule.cron, self.schedule.timezone,
                         self.freshness.deadline_time, self.freshness.days_after)

    def describe(self) -> str:
        zone = self.schedule.timezone
        at = self.freshness.deadline
        if at is not None:
            after = ("the next day" if self.freshness.days_after == 1
                     else f"{self.freshness.days_after} days later")
            return f"Each day is loaded by {at} ({zone}) {after}."
        hours = int(DEFAULT_GRACE.total_seconds() // 3600)
        return (f"Each day is loaded within {hours} hours of the daily schedule's first run "
                f"once it is over (cron '{self.schedule.cron}', {zone}).")

    def due(self, now: dt.datetime, window_days: int = WINDOW_DAYS) -> list[str]:
        """The days whose deadline passed in the last ``window_days`` days, oldest first."""
        local = now.astimezone(self.zone).date()
        first = max(self.schedule.start_date, local - dt.timedelta(days=window_days + 31))
        return [d for d in day_range(first, local)
                if now - dt.timedelta(days=window_days) < self.of(d) <= now]


@functools.lru_cache(maxsize=65_536)
def _deadline(day: str, cron: str, timezone: str, at: dt.time | None,
              days_after: int) -> dt.datetime:
    """A day's deadline never changes for one rule, and the freshness sensor asks for every
    day of its window, for every pipeline, at every tick: computed once per process. (Walking
    the schedule's cron for each was 4 CPU-seconds a tick for 27 pipelines, every five minutes
    for every tenant of a deployment.)"""
    zone = ZoneInfo(timezone)
    end = dt.datetime.combine(dt.date.fromisoformat(day) + dt.timedelta(days=1), dt.time(),
                              zone)
    if at is not None:
        date = end.date() + dt.timedelta(days=days_after - 1)
        return dt.datetime.combine(date, at, zone)
    from dagster._utils.schedules import cron_string_iterator  # the schedule's own cron

    return next(cron_string_iterator(end.timestamp(), cron, timezone)) + DEFAULT_GRACE


@dataclass(frozen=True)
class FreshnessResult:
    day: str
    state: State
    deadline: dt.datetime
    loaded_at: dt.datetime | None

    @property
    def passed(self) -> bool:
        return self.state == "on_time"

    @property
    def description(self) -> str:
        due = _clock(self.deadline)
        if self.loaded_at is None:
            return f"not loaded by its deadline, {due}"
        if self.state == "late":
            late = _duration(self.loaded_at - self.deadline)
            return f"loaded {late} after its deadline, {due}"
        return f"loaded at {_clock(self.loaded_at.astimezone(self.deadline.tzinfo))}, by {due}"

    @property
    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"deadline": self.deadline.isoformat(), "state": self.state}
        if self.loaded_at is not None:
            meta["loaded_at"] = self.loaded_at.astimezone(self.deadline.tzinfo).isoformat()
            late = (self.loaded_at - self.deadline).total_seconds()
            meta["late_by_minutes"] = max(0, round(late / 60))
        return meta


def evaluate(instance: dg.DagsterInstance, key: dg.AssetKey, days: list[str],
             deadlines: Deadlines) -> Iterator[FreshnessResult]:
    """Each day's answer from the instance's materializations of ``key``."""
    for day in days:
        deadline = deadlines.of(day)
        on_time = _first(instance, key, day, before=deadline)
        loaded = on_time or _first(instance, key, day, before=None)
        state: State = "on_time" if on_time else ("late" if loaded else "missing")
        yield FreshnessResult(day, state, deadline, loaded)


def _first(instance: dg.DagsterInstance, key: dg.AssetKey, day: str,
           before: dt.datetime | None) -> dt.datetime | None:
    """The first materialization of ``day`` (before ``before`` if given)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day],
                              before_timestamp=before.timestamp() if before else None),
        limit=1, ascending=True,
    ).records
    return dt.datetime.fromtimestamp(records[0].timestamp, dt.UTC) if records else None


def _clock(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _duration(delta: dt.timedelta) -> str:
    minutes = max(0, round(delta.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
