"""What every source reader takes and how it fails."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


class SourceError(RuntimeError):
    """Reading the source failed; the message names the cause and never holds a secret."""


@dataclass(frozen=True)
class ExtractRequest:
    """One extraction: a table or query, optionally limited to a half-open time window.

    ``window`` is ``[start, end)`` as naive wall-clock datetimes in the tenant's time zone, so
    an index on the date column can be used and a day never loses or repeats a row.
    """

    table: str | None
    query: str | None
    columns: tuple[str, ...] | None
    date_column: str | None
    window: tuple[dt.datetime, dt.datetime] | None
    batch_size: int
    db_schema: str | None = None
    timezone: str = "UTC"

    @property
    def label(self) -> str:
        return self.table or "query"
