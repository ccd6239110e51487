"""Split one stream of rows ordered by their day into one reader per day.

A range extract reads many days with one source query ordered by the date column, and still
writes one file per day. The stream is cut where the day changes, so only the batch in hand is
in memory whatever the range; every day of the window gets a reader, an empty one for a day
without rows, so each day's file exists (with the right schema) and the warehouse and the
partition status agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

_EPOCH = dt.date(1970, 1, 1)


class DaySplitError(ValueError):
    """The stream does not fit the window: rows out of order, outside it, or an odd column."""


def day_numbers(column: pa.Array | pa.ChunkedArray, timezone: str) -> pa.Array:
    """Days since 1970-01-01 of each value, in the tenant's zone for instants.

    Dates are days already; naive timestamps are wall-clock times in the tenant's zone; instants
    are converted to that zone first; ISO text (SQLite) is read by its first ten characters.
    """
    typ = column.type
    if pa.types.is_timestamp(typ):
        if typ.tz is not None:
            column = pc.local_timestamp(column.cast(pa.timestamp(typ.unit, tz=timezone)))
        days = pc.cast(column, pa.date32(), safe=False)
    elif pa.types.is_date(typ):
        days = column.cast(pa.date32())
    elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
        days = pc.cast(pc.utf8_slice_codeunits(column, 0, 10), pa.date32())
    else:
        raise DaySplitError(
            f"the date column has type {typ}; a daily pipeline needs a date, a timestamp or "
            "ISO-8601 text to assign rows to days"
        )
    if isinstance(days, pa.ChunkedArray):
        days = days.combine_chunks()
    return days.cast(pa.int32())


@dataclass
class _Slice:
    day: int
    batch: pa.RecordBatch


def split_by_day(
    reader: pa.RecordBatchReader, column: str, days: list[str], timezone: str
) -> Iterator[tuple[str, pa.RecordBatchReader]]:
    """``(day, reader of that day's rows)`` for every day of ``days``, in order.

    Each day's reader must be consumed before the next is taken (they share the stream).
    Rows must arrive ordered by their day; a row before the current day, or outside the window,
    raises :class:`DaySplitError` naming it, rather than landing in the wrong file.
    """
    numbers = [(dt.date.fromisoformat(d) - _EPOCH).days for d in days]
    slices = _slices(reader, column, timezone)
    pending: _Slice | None = next(slices, None)
    if pending is not None and pending.day < numbers[0]:
        raise DaySplitError(_outside(pending.day, days))
    for day, number in zip(days, numbers, strict=True):

        def rows(number: int = number) -> Iterator[pa.RecordBatch]:
            nonlocal pending
            while pending is not None and pending.day == number:
                yield pending.batch
                pending = next(slices, None)
                if pending is not None and pending.day < number:
                    raise DaySplitError(_out_of_order(pending.day, number))

        yield day, pa.RecordBatchReader.from_batches(reader.schema, rows())
    if pending is not None:
        raise DaySplitError(_outside(pending.day, days))


def _slices(reader: pa.RecordBatchReader, column: str, timezone: str) -> Iterator[_Slice]:
    index = reader.schema.get_field_index(column)
    if index < 0:
        raise DaySplitError(f"the data has no column {column!r} to split by day")
    for batch in reader:
        if batch.num_rows == 0:
            continue
        runs = pc.run_end_encode(day_numbers(batch.column(index), timezone))
        start = 0
        for end, day in zip(runs.run_ends.to_pylist(), runs.values.to_pylist(), strict=True):
            if day is None:
                raise DaySplitError(f"column {column!r} is NULL in a row of a daily pipeline")
            yield _Slice(day, batch.slice(start, end - start))
            start = end


def day_name(number: int) -> str:
    """A day number of :func:`day_numbers` as ``YYYY-MM-DD``."""
    return (_EPOCH + dt.timedelta(days=number)).isoformat()


def _outside(found: int, days: list[str]) -> str:
    return (
        f"the source returned rows of {day_name(found)}, outside the window {days[0]}..{days[-1]}; "
        "is the date column's filter applied?"
    )


def _out_of_order(found: int, current: int) -> str:
    return (
        f"rows of {day_name(found)} arrived after rows of {day_name(current)}: the source did not "
        "return them ordered by the date column"
    )
