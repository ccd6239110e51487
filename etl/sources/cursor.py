"""The rows an incremental read takes: those whose cursor is at or after a high-water mark.

A :class:`CursorFilter` is a row filter (:class:`etl.sources.row_filter.RowFilter`): the last
run's high-water mark minus the pipeline's ``lag``, compared with ``>=`` so rows sharing the
mark's cursor value, and rows committed late with an older one (within the lag), are read
again (the merge by key makes that harmless). The mark is kept as text in the materialization
metadata and read back as a value of the cursor column's type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from etl.sources.dialects.registry import Dialect
from etl.sources.errors import SourceError


@dataclass(frozen=True)
class CursorFilter:
    """Rows whose ``column`` is at or after ``mark`` minus ``lag``."""

    column: str
    mark: str
    lag_seconds: int = 0  # a duration's seconds, or a number of units for an integer cursor
    lag_is_duration: bool = False

    @property
    def ordered(self) -> bool:
        return False

    @property
    def field(self) -> str:
        """The config field naming the column, in errors."""
        return "cursor_column"

    def predicate(self, column: sa.ColumnElement[Any], arrow: pa.DataType | None,
                  dialect: Dialect) -> sa.ColumnElement[bool]:
        condition: sa.ColumnElement[bool] = column >= self.bound(arrow, dialect)
        return condition

    def bound(self, arrow: pa.DataType | None, dialect: Dialect) -> Any:
        """The lower bound as a value of the cursor column's kind."""
        if arrow is not None and pa.types.is_timestamp(arrow):
            value = dt.datetime.fromisoformat(self.mark) - self._duration()
            if arrow.tz is None:
                return value.replace(tzinfo=None)
            aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            return dialect.instant_bounds(aware.astimezone(dt.UTC), aware)[0]
        if arrow is not None and pa.types.is_date(arrow):
            days = -(-self._duration() // dt.timedelta(days=1))  # whole days, rounded up
            return dt.date.fromisoformat(self.mark[:10]) - dt.timedelta(days=days)
        if arrow is not None and pa.types.is_integer(arrow):
            return int(self.mark) - self._units()
        if arrow is not None and pa.types.is_decimal(arrow):
            return Decimal(self.mark) - self._units()
        if self.lag_seconds:
            raise SourceError(f"cursor_column {self.column!r} is not a date, time or number, so "
                              "it cannot go back by a lag; set lag: 0")
        return self.mark

    def _duration(self) -> dt.timedelta:
        if self.lag_seconds and not self.lag_is_duration:
            raise SourceError(f"cursor_column {self.column!r} is a date or time: write lag as a "
                              f"duration such as '5m', not {self.lag_seconds}")
        return dt.timedelta(seconds=self.lag_seconds)

    def _units(self) -> int:
        if self.lag_seconds and self.lag_is_duration:
            raise SourceError(f"cursor_column {self.column!r} is a number: write lag as a "
                              "number of its units, not a duration")
        return self.lag_seconds


def mark_text(value: object) -> str:
    """A cursor value as the text a high-water mark is kept as (ISO for dates and times)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


class HighWater:
    """The largest cursor value of the rows passing through a reader."""

    def __init__(self, column: str) -> None:
        self.column = column
        self.value: Any = None

    def watch(self, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        index = reader.schema.get_field_index(self.column)
        if index < 0:
            raise SourceError(f"cursor_column {self.column!r} is not a column of the read; it "
                              f"has {reader.schema.names}")

        def batches() -> Iterator[pa.RecordBatch]:
            for batch in reader:
                if batch.num_rows:
                    found = pc.max(batch.column(index)).as_py()
                    if found is not None and (self.value is None or found > self.value):
                        self.value = found
                yield batch

        return pa.RecordBatchReader.from_batches(reader.schema, batches())
