"""How an incremental pipeline reads its changes and finds deleted rows.

A pipeline with ``mode: incremental`` reads only the rows whose ``cursor_column`` is at or after
the last high-water mark minus ``lag`` and merges them into the warehouse by ``primary_key``;
``deletes`` says how rows gone from the source are found (a key-only read) and what happens to
them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final, Literal

from pydantic import Field, field_validator

from etl.model.base import StrictModel

DeleteMode = Literal["off", "hard", "soft"]
PipelineMode = Literal["full", "incremental"]
DURATION: Final = re.compile(r"^([0-9]+)(s|m|h|d)$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class DeletesConfig(StrictModel):
    """Rows deleted at the source: found by a key-only read, deleted or marked in the warehouse."""

    mode: DeleteMode = Field(
        default="off",
        description="'hard': delete them from the warehouse; 'soft': keep them with deleted_at "
                    "set; 'off' (default): keep them as they are.",
    )
    every_runs: int = Field(
        default=1, ge=1, le=10_000,
        description="Read the source's keys at most every this many runs (a key-only read of "
                    "the whole table).",
    )

    @field_validator("mode", mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        """YAML reads a bare ``off`` as false."""
        return "off" if value is False else value


def lag_seconds(lag: int | str) -> int:
    """A lag as seconds (a duration) or as a number of cursor units (an integer)."""
    if isinstance(lag, int):
        return lag
    found = DURATION.match(lag)
    if found is None:
        raise ValueError(f"not a duration: {lag!r}")
    return int(found.group(1)) * _UNITS[found.group(2)]


def lag_delta(lag: int | str) -> dt.timedelta:
    return dt.timedelta(seconds=lag_seconds(lag))
