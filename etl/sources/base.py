"""What every source reader takes and how it fails."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from etl.sources.fingerprint import FingerprintSpec, TakenFingerprints
    from etl.sources.row_filter import RowFilter


@dataclass(frozen=True)
class ExtractRequest:
    """One extraction: a table or query, optionally limited by a row filter.

    The filter (:mod:`etl.sources.row_filter`) of a daily pipeline covers whole days in the
    tenant's time zone, so an index on the date column can be used and a day never loses or
    repeats a row.
    """

    table: str | None
    query: str | None
    columns: tuple[str, ...] | None
    row_filter: RowFilter | None
    batch_size: int
    db_schema: str | None = None
    statement_timeout_s: float | None = None  # the source cancels a query running longer
    read_timeout_s: float | None = None
    """Seconds each call on the source (connect and plan, each batch) may wait for an answer
    before the read fails as stalled (:mod:`etl.sources.stall`); None: no limit."""
    column_types: Mapping[str, str] = field(default_factory=dict)
    """The pipeline's ``column_types``: ``string`` or ``decimal(p,s)`` per source column."""
    partition_column: str | None = None
    """The day column a daily pipeline's files get; no source column may have its name."""
    fingerprint: FingerprintSpec | None = None
    """Take each day's fingerprint of the window too (a daily read): what it covers."""

    @property
    def label(self) -> str:
        return self.table or "query"


@dataclass(frozen=True)
class SourceRead:
    """An open read: its rows and, when the request asked, each day's fingerprint."""

    reader: pa.RecordBatchReader
    fingerprints: TakenFingerprints | None = None
