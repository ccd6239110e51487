"""``row_count``: the day (or the master table) has between ``min`` and ``max`` rows."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from etl import naming
from etl.checks.base import CheckRule, CheckScope, Judgement


class RowCountRule(CheckRule):
    """The day (or the master table) has between ``min`` and ``max`` rows."""

    type: Literal["row_count"] = Field(description="The kind of rule.")
    min: int | None = Field(default=None, ge=0, description="Fewest rows allowed.")
    max: int | None = Field(default=None, ge=0, description="Most rows allowed.")

    example: ClassVar[dict[str, Any]] = {"type": "row_count", "min": 1, "max": 2}
    example_days: ClassVar[tuple[list[tuple[int | None, str | None]], ...]] = (
        [(1, "open")], [])

    def default_name(self) -> str:
        return naming.rule_check_name("row_count", ())

    @model_validator(mode="after")
    def _bounds(self) -> RowCountRule:
        if self.min is None and self.max is None:
            raise ValueError("a row_count rule needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"row_count 'min' ({self.min}) is above 'max' ({self.max})")
        return self

    def text(self) -> str:
        if self.min is not None and self.max is not None:
            bounds = f"between {self.min:,} and {self.max:,}"
        else:
            bounds = f"at least {self.min:,}" if self.min is not None else f"at most {self.max:,}"
        return f"The row count is {bounds}"

    def measure(self, scope: CheckScope) -> str:
        return "count(*)"

    def judge(self, scope: CheckScope, measured: int, rows: int) -> Judgement:
        low, high = self.min, self.max
        passed = (low is None or rows >= low) and (high is None or rows <= high)
        meta: dict[str, Any] = {k: v for k, v in {"min": low, "max": high}.items()
                                if v is not None}
        text = f"{rows:,} rows" + ("" if passed else f", outside {_range(low, high)}")
        return Judgement(passed, text, meta)


def _range(low: int | None, high: int | None) -> str:
    return f"[{'' if low is None else f'{low:,}'}, {'' if high is None else f'{high:,}'}]"
