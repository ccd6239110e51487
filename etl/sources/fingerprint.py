"""Each day's fingerprint at the source: its rows and an order-independent checksum.

A fingerprint is only ever compared with one taken the same way at the same source, so each
dialect uses its own database's functions (:meth:`Dialect.row_checksum`): a sum of a 64-bit
(PostgreSQL: of the row's values, binary from 14 on) or 60-bit (MySQL/MariaDB: of its text)
hash of each row, which no row order changes and NULL cannot hide in. It covers the pipeline's
``primary_key`` and ``change_column`` when it has one, else every extracted column. A range of
days is one grouped query, ``GROUP BY`` the day as a date (:meth:`Dialect.day_key`), over
exactly the rows the extract reads (the same table or query and the same day window). An
extract through DuckDB's scanner takes no such query: its rows carry their hashes and it adds
them up per day itself (:mod:`etl.sources.in_band`), the same sums.

Dialects whose database has no such function (SQLite, the generic path) read the covered
columns and the date column and hash them here, streamed (:func:`fold`): the same guarantee,
at the cost of moving those columns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from etl.sources.errors import SourceError

DAY_LABEL = "fp_day"
ROWS_LABEL = "fp_rows"
CHECKSUM_LABEL = "fp_checksum"
EMPTY_CHECKSUM = "0"
NULL_MARK = "\x00"
SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Fingerprint:
    """One day at the source: its rows and the checksum of what the fingerprint covers."""

    rows: int
    checksum: str

    @classmethod
    def empty(cls) -> Fingerprint:
        return cls(0, EMPTY_CHECKSUM)


Fingerprints = dict[str, Fingerprint]


@dataclass(frozen=True)
class FingerprintSpec:
    """What a fingerprint covers: these columns, or every extracted column (None)."""

    columns: tuple[str, ...] | None = None
    in_rows: bool = False
    """The read may carry each row's hash and add them up itself (:mod:`etl.sources.in_band`):
    DuckDB's scanner reads, where the database hashes rows."""

    def describe(self) -> str:
        return ", ".join(self.columns) if self.columns else "all columns"


@dataclass(frozen=True)
class FingerprintPlan:
    """The query taking the fingerprints of a read's window.

    ``grouped``: it returns ``(day, rows, checksum)`` per day; otherwise it returns the date
    column then the covered columns, row by row, for :func:`fold`.
    """

    statement: sa.Select[Any]
    grouped: bool
    days: tuple[str, ...]
    timezone: str

    def complete(self, found: Mapping[str, Fingerprint]) -> Fingerprints:
        """Every day of the window, a day without rows as the empty fingerprint."""
        return {day: found.get(day, Fingerprint.empty()) for day in self.days}

    def collect(self, rows: Iterable[Sequence[Any]]) -> Fingerprints:
        """The fingerprints from the statement's result rows."""
        if self.grouped:
            return self.complete({_iso(r[0]): Fingerprint(int(r[1]), str(r[2] or EMPTY_CHECKSUM))
                                  for r in rows})
        return self.complete(fold(rows, self.timezone))


def _iso(day: object) -> str:
    return day.isoformat() if isinstance(day, dt.date) else str(day)[:10]


def fold(rows: Iterable[Sequence[Any]], timezone: str) -> Fingerprints:
    """Fingerprints of ``(date value, covered values...)`` rows, hashed here.

    Each row's text is its values' ``str`` joined by a separator, NULL as a mark of its own;
    the checksum is the sum of the first 60 bits of each text's MD5, as MySQL's is.
    """
    zone = ZoneInfo(timezone)
    rows_by_day: dict[str, int] = {}
    sums: dict[str, int] = {}
    for row in rows:
        day = python_day(row[0], zone)
        text = SEPARATOR.join(NULL_MARK if v is None else str(v) for v in row[1:])
        value = int(hashlib.md5(text.encode("utf-8", "surrogatepass")).hexdigest()[:15], 16)
        rows_by_day[day] = rows_by_day.get(day, 0) + 1
        sums[day] = sums.get(day, 0) + value
    return {day: Fingerprint(n, str(sums[day])) for day, n in rows_by_day.items()}


def python_day(value: object, zone: ZoneInfo) -> str:
    """The day a date column's value falls on, as the extract's day split assigns it."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(zone)
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]  # ISO text (SQLite)


def utc_offsets(timezone: str, start: dt.datetime, end: dt.datetime
                ) -> list[tuple[dt.datetime, int]]:
    """The zone's UTC offsets (minutes) between two UTC instants, each with the instant it
    starts at (the first at ``start``): a window crosses a DST change at most twice a year."""
    zone = ZoneInfo(timezone)

    def offset(at: dt.datetime) -> int:
        delta = at.astimezone(zone).utcoffset() or dt.timedelta()
        return int(delta.total_seconds() // 60)

    out = [(start, offset(start))]
    at = start
    while at < end:  # hour steps find every change; a bisection pins it to the minute
        nxt = min(at + dt.timedelta(hours=1), end)
        if offset(nxt) != out[-1][1]:
            low, high = at, nxt
            while high - low > dt.timedelta(minutes=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == out[-1][1] else (low, middle)
            out.append((high.replace(second=0, microsecond=0), offset(nxt)))
        at = nxt
    return out


@dataclass
class TakenFingerprints:
    """A read's fingerprints, filled in by the thread that reads the source: taken in the
    read's own snapshot (``consistent``), or before the read and again after its last row
    (``after``), a day whose fingerprint moved in between being *changing*."""

    consistent: bool = False
    before: Fingerprints | None = None
    after: Fingerprints | None = None

    def final(self) -> tuple[Fingerprints, frozenset[str]]:
        """The days' fingerprints and the days that changed while they were read (call it
        once the rows are read: the second fingerprint of the before-and-after path)."""
        if self.before is None:
            raise SourceError("the fingerprints were not taken before the read")
        if self.consistent:
            return self.before, frozenset()
        if self.after is None:
            raise SourceError("the fingerprints are taken again only after the read's last row")
        moved = frozenset(d for d, f in self.before.items() if self.after.get(d) != f)
        return {d: f for d, f in self.after.items() if d not in moved}, moved
