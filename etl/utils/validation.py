"""Checks on the data itself, shared by the stages and the asset checks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reconciliation:
    """Warehouse rows against Parquet rows for one load."""

    expected: int
    actual: int

    @property
    def passed(self) -> bool:
        return self.expected == self.actual

    @property
    def description(self) -> str:
        if self.passed:
            return f"warehouse holds {self.actual} rows, as the Parquet input"
        return f"warehouse holds {self.actual} rows but the Parquet input has {self.expected}"
