"""``accepted_values``: every non-NULL value of the column is one of ``values`` (as text)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from etl import naming
from etl.checks.base import CheckRule, CheckScope
from etl.model.base import ColumnName
from etl.utils.sql import literal, quote

AcceptedValue = str | int | float | bool


class AcceptedValuesRule(CheckRule):
    """Every non-NULL value of the column is one of ``values`` (compared as text)."""

    type: Literal["accepted_values"] = Field(description="The kind of rule.")
    column: ColumnName = Field(description="The column to check.")
    values: tuple[AcceptedValue, ...] = Field(
        min_length=1, description="The allowed values; NULL is allowed too (add not_null)."
    )

    example: ClassVar[dict[str, Any]] = {"type": "accepted_values", "column": "status",
                                         "values": ["open", "closed"]}
    example_days: ClassVar[tuple[list[tuple[int | None, str | None]], ...]] = (
        [(1, "open"), (2, None)], [(1, "open"), (2, "lost")])

    def default_name(self) -> str:
        return naming.rule_check_name("accepted_values", (self.column,))

    def checked_columns(self) -> tuple[str, ...]:
        return (self.column,)

    def text(self) -> str:
        shown = ", ".join(str(v) for v in self.values[:10])
        more = f" and {len(self.values) - 10} more" if len(self.values) > 10 else ""
        return f"{self.column} is one of {shown}{more}"

    def failing(self, scope: CheckScope) -> str:
        column = quote(scope.resolve(self.column))
        allowed = ", ".join(literal(_text(v)) for v in self.values)
        return f"{column} IS NOT NULL AND CAST({column} AS VARCHAR) NOT IN ({allowed})"

    def details(self, scope: CheckScope) -> dict[str, Any]:
        """The unexpected values with their counts (unless the column is sensitive)."""
        out: dict[str, Any] = {}
        if not scope.is_sensitive(scope.resolve(self.column)):
            column = quote(scope.resolve(self.column))
            out["unexpected_values"] = scope.rows(
                f"SELECT CAST({column} AS VARCHAR) AS value, count(*) AS rows FROM input "
                f"WHERE {self.failing(scope)} GROUP BY 1 ORDER BY rows DESC, value")
        return {**out, **super().details(scope)}


def _text(value: object) -> str:
    """A configured value as DuckDB renders the column's value as VARCHAR."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
