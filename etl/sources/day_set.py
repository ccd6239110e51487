"""Rows of some days that need not be consecutive: a heal's scattered days in one read.

A :class:`DaySet` is a row filter (:class:`etl.sources.row_filter.RowFilter`) made of one
:class:`~etl.sources.row_filter.DayWindow` per run of consecutive days, OR-ed: the source
answers with one ordered query (each window still a range on the date column's index) instead
of one query per window, and the days between are never read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from etl.sources.dialects.registry import Dialect
from etl.sources.row_filter import DayWindow
from etl.utils.days import contiguous


@dataclass(frozen=True)
class DaySet:
    """Rows whose ``column`` falls on one of the windows' days, in ``timezone``."""

    column: str
    windows: tuple[DayWindow, ...]
    timezone: str = "UTC"

    @classmethod
    def of(cls, column: str, partition_keys: Sequence[str], timezone: str
           ) -> DayWindow | DaySet:
        """A single window for consecutive days (the usual range), else a set of them."""
        blocks = contiguous(list(partition_keys))
        windows = tuple(DayWindow.of(column, block, timezone) for block in blocks)
        return windows[0] if len(windows) == 1 else cls(column, windows, timezone)

    @property
    def ordered(self) -> bool:
        return True

    def predicate(self, column: sa.ColumnElement[Any], arrow: pa.DataType | None,
                  dialect: Dialect) -> sa.ColumnElement[bool]:
        return sa.or_(*(w.predicate(column, arrow, dialect) for w in self.windows))

    @property
    def days(self) -> list[str]:
        return [d for w in self.windows for d in w.days]

    @property
    def start(self) -> dt.datetime:
        return self.windows[0].start

    @property
    def end(self) -> dt.datetime:
        return self.windows[-1].end
