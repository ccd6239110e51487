"""Each day's fingerprint added up from the very rows a read delivers.

Where the database hashes rows (:meth:`Dialect.row_hash`) and DuckDB's scanner reads them, the
read's statement carries each row's hash as one more column, :data:`ROW_HASH`. The rows are
counted and their hashes added up per day as the batches pass, and the column is dropped before
anything else sees the batches. A day's fingerprint is then of exactly the rows written into
its file: one snapshot by construction, with no second query over the window before and after
the read (on PostgreSQL those two cost about as much as the read itself) and no time between
them in which the source could change. A reconcile takes the same sums later with one grouped
query (:meth:`Dialect.row_checksum`), so the two compare as before.

A day's sum is final once a row of a later day has passed: the rows arrive ordered by day (the
day split refuses anything else), so the extract can judge each day as soon as its file is
written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from etl.sources.fingerprint import Fingerprint, Fingerprints, TakenFingerprints
from etl.utils.day_split import day_name, day_numbers

ROW_HASH = "__etl_row_hash"
"""The hash column's name in the read's statement; a source column of that name reads the
fingerprints with queries of their own instead."""
_LOW = pa.scalar(0xFFFFFFFF, pa.int64())


@dataclass(frozen=True)
class RowHashes:
    """What a plan with hashes in its rows needs to add them up: the day of each row."""

    date_column: str
    timezone: str
    days: tuple[str, ...]


@dataclass
class Sums(TakenFingerprints):
    """Fingerprints counted from the rows as they pass (see the module's docstring). Every day
    of the window has one from the start (the empty fingerprint until its rows come), so the
    extract can ask for them after each day's file at no cost."""

    found: Fingerprints = field(default_factory=dict)
    _totals: dict[str, tuple[int, int]] = field(default_factory=dict)  # day -> (rows, sum)

    @classmethod
    def of(cls, days: tuple[str, ...]) -> Sums:
        return cls(consistent=True, found={day: Fingerprint.empty() for day in days})

    def final(self) -> tuple[Fingerprints, frozenset[str]]:
        return self.found, frozenset()

    def add(self, batch: pa.RecordBatch, hashes: RowHashes) -> None:
        numbers = day_numbers(batch.column(hashes.date_column), hashes.timezone)
        values = batch.column(ROW_HASH).cast(pa.int64())
        # Exact sums: the high and low 32 bits added up apart cannot overflow int64.
        high, low = pc.shift_right(values, 32), pc.bit_wise_and(values, _LOW)
        runs = pc.run_end_encode(numbers)
        start = 0
        for end, number in zip(runs.run_ends.to_pylist(), runs.values.to_pylist(), strict=True):
            if number is not None:  # a NULL day: the day split refuses the row
                day, count = day_name(number), end - start
                total = ((pc.sum(high.slice(start, count)).as_py() << 32)
                         + pc.sum(low.slice(start, count)).as_py())
                rows, sums = self._totals.get(day, (0, 0))
                self._totals[day] = rows + count, sums + total
                self.found[day] = Fingerprint(rows + count, str(sums + total))
            start = end


def summed(reader: pa.RecordBatchReader, hashes: RowHashes
           ) -> tuple[pa.RecordBatchReader, Sums]:
    """``reader`` without the hash column, and the sums it fills as its batches are read."""
    sums = Sums.of(hashes.days)
    index = reader.schema.get_field_index(ROW_HASH)
    schema = reader.schema.remove(index)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            sums.add(batch, hashes)
            yield batch.remove_column(index)

    return pa.RecordBatchReader.from_batches(schema, batches()), sums
