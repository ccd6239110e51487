"""Which rows a read takes: the one place that turns a pipeline's filter into SQL.

A read's :class:`RowFilter` names the column it filters on and builds the predicate for it;
:mod:`etl.sources.plan` applies it to tables, described queries and undescribed queries alike,
so a new kind of filter (a cursor, say) is one class here. The daily pipelines' filter is a
:class:`DayWindow` of whole days in the tenant's time zone,
``[first day 00:00, day after the last 00:00)``. Comparing the column itself with two bounds,
instead of casting it, lets the source use its index on that column.

The bounds must order exactly like the column's values, or rows at midnight change day. Text
(ISO timestamps stored as strings, and SQLite's datetimes, which are text) is compared with the
bare dates ``'YYYY-MM-DD'``: a date is a prefix of every timestamp written on that day, so it
sorts before all of them whatever follows (``' 00:00:00'``, ``'.000001'``, ``'T00:00'``), and
after every timestamp of the day before. A full timestamp as the bound would not:
``'2026-03-02 00:00:00'`` sorts before ``'2026-03-02 00:00:00.000000'``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import sqlalchemy as sa

from etl.sources.dialects.base import text_bounds
from etl.sources.dialects.registry import Dialect
from etl.sources.errors import SourceError


class RowFilter(Protocol):
    """A condition on one column of the source, turned into SQL for that column."""

    @property
    def column(self) -> str:
        """The source column the filter reads."""
        ...

    @property
    def ordered(self) -> bool:
        """Whether rows must arrive ordered by the column (to be split by day as they come)."""
        ...

    def predicate(
        self, column: sa.ColumnElement[Any], arrow: pa.DataType | None, dialect: Dialect
    ) -> sa.ColumnElement[bool]:
        """The SQL condition; ``arrow`` is the column's type (None: not known before rows)."""
        ...


@dataclass(frozen=True)
class DayWindow:
    """Rows whose ``column`` falls on the days ``first`` to ``last`` (inclusive) in ``timezone``."""

    column: str
    first: dt.date
    last: dt.date
    timezone: str = "UTC"

    @classmethod
    def of(cls, column: str, partition_keys: Sequence[str], timezone: str) -> DayWindow:
        days = sorted(dt.date.fromisoformat(k) for k in partition_keys)
        return cls(column, days[0], days[-1], timezone)

    @property
    def ordered(self) -> bool:
        """A range is read with one query and cut into days as rows arrive: in day order."""
        return self.last > self.first

    def predicate(
        self, column: sa.ColumnElement[Any], arrow: pa.DataType | None, dialect: Dialect
    ) -> sa.ColumnElement[bool]:
        return day_filter(column, arrow, self, dialect)

    @property
    def start(self) -> dt.datetime:
        """The first day's midnight, as a naive wall-clock time in the tenant's zone."""
        return dt.datetime.combine(self.first, dt.time())

    @property
    def end(self) -> dt.datetime:
        """Midnight after the last day (exclusive)."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time())

    @property
    def days(self) -> list[str]:
        count = (self.last - self.first).days + 1
        return [(self.first + dt.timedelta(days=i)).isoformat() for i in range(count)]


def day_filter(
    column: sa.ColumnElement[Any], arrow: pa.DataType | None, window: DayWindow, dialect: Dialect
) -> sa.ColumnElement[bool]:
    """``column >= start AND column < end``, with the bounds as values of the column's kind."""
    start, end = bounds(window, arrow, dialect)
    return sa.and_(column >= start, column < end)


def bounds(window: DayWindow, arrow: pa.DataType | None, dialect: Dialect) -> tuple[Any, Any]:
    """The window as values of the date column's kind.

    Dates compare as dates; text as ISO dates (see the module docstring); naive timestamps as
    the wall-clock window itself, in the form the dialect compares exactly; instants
    (timestamptz, MySQL TIMESTAMP) as the window's start and end in the tenant's zone,
    converted to UTC; a column of unknown type as the dialect says.
    """
    start, end = window.start, window.end
    if arrow is None:
        return dialect.untyped_bounds(start, end)
    if pa.types.is_date(arrow):
        return start.date(), end.date()
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        return text_bounds(start, end)
    if pa.types.is_timestamp(arrow) and arrow.tz is not None:
        try:
            zone = ZoneInfo(window.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SourceError(f"unknown time zone {window.timezone!r}") from None
        utc = [d.replace(tzinfo=zone).astimezone(dt.UTC) for d in (start, end)]
        return dialect.instant_bounds(utc[0], utc[1])
    return dialect.wall_clock_bounds(start, end)
