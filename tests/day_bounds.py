"""The day-boundary property: every row lands in exactly one day's file, the right one.

Values are drawn with a seeded generator around what moves a row to the wrong day: midnight
itself, one microsecond either side of it, 23:59:59.999999 and .9996 (SQLite's ``julianday``
would round that into the next day), leap days, the year's end, and the days a tenant's zone
changes its clocks (Europe/Berlin and America/New_York), for dates, wall-clock timestamps,
instants and ISO text in the forms applications write. Each kind is one table ``b_<kind>(id,
v)``; :func:`check_days` extracts every tested day alone and every window as a range (cut into
scans of two days, so scan edges fall inside windows too) and compares each file's ids with
the day each row belongs to, computed here in Python.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq

from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.rdb import SourceDatabaseResource
from etl.stages.extract import run_extract
from tests.helpers import storage_resource

SEED = 20260302
ZONES = ("Europe/Berlin", "America/New_York")
WINDOWS: tuple[tuple[dt.date, dt.date], ...] = (
    (dt.date(2026, 3, 7), dt.date(2026, 3, 9)),     # New York springs forward on the 8th
    (dt.date(2026, 3, 28), dt.date(2026, 3, 30)),   # Berlin springs forward on the 29th
    (dt.date(2026, 10, 24), dt.date(2026, 10, 26)),  # Berlin falls back on the 25th
    (dt.date(2026, 10, 31), dt.date(2026, 11, 2)),  # New York falls back on the 1st
    (dt.date(2028, 2, 28), dt.date(2028, 3, 1)),    # a leap day
    (dt.date(2026, 12, 31), dt.date(2027, 1, 1)),   # the year's end
)
TIMES = (dt.time(0, 0), dt.time(0, 0, 0, 1), dt.time(23, 59, 59, 999_999),
         dt.time(23, 59, 59, 999_600), dt.time(23, 59, 59), dt.time(12, 0), dt.time(2, 30),
         dt.time(1, 59, 59, 999_999), dt.time(3, 0))
TEXT_FORMATS: tuple[Callable[[dt.datetime], str], ...] = (
    lambda t: t.strftime("%Y-%m-%d %H:%M:%S"),
    lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f"),
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%S"),
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f"),
    lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],  # milliseconds
    lambda t: t.strftime("%Y-%m-%d %H:%M"),
    lambda t: t.date().isoformat(),
)
KINDS = ("date", "timestamp", "text", "instant")


@dataclass(frozen=True)
class Row:
    id: int
    value: object  # what is inserted: a date, a naive or aware datetime, or text

    def day(self, zone: str) -> str:
        """The day the row belongs to, in ``zone`` for instants."""
        v = self.value
        if isinstance(v, str):
            return v[:10]
        if isinstance(v, dt.datetime):
            return (v.astimezone(ZoneInfo(zone)) if v.tzinfo else v).date().isoformat()
        assert isinstance(v, dt.date)
        return v.isoformat()


def tested_days() -> list[str]:
    return [d for first, last in WINDOWS for d in _days(first, last)]


def _days(first: dt.date, last: dt.date) -> list[str]:
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _around() -> Iterator[dt.date]:
    """Every tested day and the day either side of each window (rows that must stay out)."""
    for first, last in WINDOWS:
        day = first - dt.timedelta(days=1)
        while day <= last + dt.timedelta(days=1):
            yield day
            day += dt.timedelta(days=1)


def _random_time(rng: random.Random) -> dt.time:
    micros = rng.randrange(86_400_000_000)
    seconds, micro = divmod(micros, 1_000_000)
    return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro)


def rows(kind: str, extra: int = 2) -> list[Row]:
    """The boundary values of ``kind`` and ``extra`` random ones per day, ids from 1."""
    rng = random.Random(f"{SEED}-{kind}")
    values: list[object] = []
    for day in _around():
        times = [*TIMES, *(_random_time(rng) for _ in range(extra))]
        if kind == "date":
            values.append(day)
        elif kind == "timestamp":
            values += [dt.datetime.combine(day, t) for t in times]
        elif kind == "text":
            values += [rng.choice(TEXT_FORMATS)(dt.datetime.combine(day, t)) for t in times]
        else:
            values += list(_instants(day, times))
    return [Row(i, v) for i, v in enumerate(values, start=1)]


def _instants(day: dt.date, times: Sequence[dt.time]) -> Iterator[dt.datetime]:
    """Instants (aware, UTC) at each zone's midnights, a microsecond either side, the clock
    changes, and ``times`` of that day in each zone."""
    one = dt.timedelta(microseconds=1)
    for name in ZONES:
        zone = ZoneInfo(name)
        for t in times:
            yield dt.datetime.combine(day, t, zone).astimezone(dt.UTC)
        midnight = dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
        yield midnight - one
        yield midnight + one
        noon = dt.datetime.combine(day, dt.time(12), zone)
        offset = noon.utcoffset()
        start = dt.datetime.combine(day, dt.time(), zone).utcoffset()
        if offset != start:  # a clock change that day: its instant and a microsecond before
            change = _clock_change(day, zone)
            yield change
            yield change - one


def _clock_change(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first UTC instant of ``day`` with the day's new offset (searched by the minute)."""
    at = dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
    first = at.astimezone(zone).utcoffset()
    while at.astimezone(zone).utcoffset() == first:
        at += dt.timedelta(minutes=1)
    return at


def extracted_ids(pipeline: PipelineAssetConfig, source: SourceDatabaseResource, root: Path,
                  days: list[str], days_per_scan: int = 1) -> dict[str, list[int]]:
    """Run the extract stage over ``days``; the ids in each day's file."""
    storage = storage_resource(str(root))
    found: dict[str, list[int]] = {}
    for day, outcome in run_extract("t1", pipeline, source, storage, days,
                                    days_per_scan=days_per_scan):
        assert day is not None
        found[day] = sorted(pq.read_table(outcome.uri).column("id").to_pylist())
    return found


def expected_ids(rows: Sequence[Row], zone: str) -> dict[str, list[int]]:
    days = set(tested_days())
    out: dict[str, list[int]] = {d: [] for d in sorted(days)}
    for row in rows:
        if row.day(zone) in days:
            out[row.day(zone)].append(row.id)
    return out


def check_days(kind: str, rows: Sequence[Row], source: Callable[[str], SourceDatabaseResource],
               root: Path, zones: Sequence[str] = ZONES[:1]) -> None:
    """Day by day and window by window, each row in exactly one file: its own day's."""
    pipeline = PipelineAssetConfig(name=f"b_{kind}", table=f"b_{kind}", date_column="v")
    for zone in zones:
        want = expected_ids(rows, zone)
        assert all(want.values()), "every tested day holds rows"
        alone: dict[str, list[int]] = {}
        for day in tested_days():
            alone.update(extracted_ids(pipeline, source(zone), root / "alone", [day]))
        assert alone == want, (kind, zone, "day by day", _diff(alone, want, rows))
        ranged: dict[str, list[int]] = {}
        for first, last in WINDOWS:
            ranged.update(extracted_ids(pipeline, source(zone), root / "range",
                                        _days(first, last), days_per_scan=2))
        assert ranged == want, (kind, zone, "in ranges", _diff(ranged, want, rows))


def _diff(found: dict[str, list[int]], want: dict[str, list[int]],
          rows: Sequence[Row]) -> list[str]:
    values = {r.id: r.value for r in rows}
    out = []
    for day in sorted(set(found) | set(want)):
        extra = sorted(set(found.get(day, [])) - set(want.get(day, [])))
        lost = sorted(set(want.get(day, [])) - set(found.get(day, [])))
        out += [f"{day}: extra {values[i]!r}" for i in extra]
        out += [f"{day}: lost {values[i]!r}" for i in lost]
    return out[:20]
