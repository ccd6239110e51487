"""Live progress of a long stage: rows so far, rows per second and the day, at a bounded rate.

A stage that moves gigabytes would otherwise say nothing for minutes. The counting wraps the
Arrow stream between reader and writer (no copy) and logs at most once per interval, so a fast
small stage logs nothing extra.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

PROGRESS_INTERVAL_S = 10.0


class RowProgress:
    """Counts the rows of a stage across its days; ``log`` receives the progress lines."""

    def __init__(self, label: str, log: Callable[[str], None] | None,
                 interval_s: float = PROGRESS_INTERVAL_S) -> None:
        self.label = label
        self.rows = 0
        self._log = log
        self._interval = interval_s
        self._started = time.monotonic()
        self._last = self._started

    def counted(self, reader: pa.RecordBatchReader, day: str | None) -> pa.RecordBatchReader:
        """The same stream, counted; logs a line when the interval has passed."""
        import pyarrow as pa

        def batches() -> Iterator[pa.RecordBatch]:
            for batch in reader:
                self.rows += batch.num_rows
                self._maybe_log(day)
                yield batch

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    def _maybe_log(self, day: str | None) -> None:
        now = time.monotonic()
        if self._log is None or now - self._last < self._interval:
            return
        self._last = now
        rate = self.rows / max(now - self._started, 1e-9)
        self._log(f"{self.label}: {self.rows:,} rows so far ({rate:,.0f} rows/s), "
                  f"at {day or 'latest'}")
