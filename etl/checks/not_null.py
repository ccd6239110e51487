"""``not_null``: no row has NULL in any of the columns."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from etl import naming
from etl.checks.base import CheckRule, CheckScope
from etl.model.base import ColumnName
from etl.utils.sql import quote


class NotNullRule(CheckRule):
    """No row has NULL in any of the columns."""

    type: Literal["not_null"] = Field(description="The kind of rule.")
    columns: tuple[ColumnName, ...] = Field(min_length=1, description="Columns that must be set.")

    example: ClassVar[dict[str, Any]] = {"type": "not_null", "columns": ["status"]}
    example_days: ClassVar[tuple[list[tuple[int | None, str | None]], ...]] = (
        [(1, "open")], [(1, "open"), (2, None)])

    def default_name(self) -> str:
        return naming.rule_check_name("not_null", self.columns)

    def checked_columns(self) -> tuple[str, ...]:
        return self.columns

    def text(self) -> str:
        return f"{', '.join(self.columns)} are never NULL"

    def failing(self, scope: CheckScope) -> str:
        return " OR ".join(f"{quote(scope.resolve(c))} IS NULL" for c in self.columns)

    def details(self, scope: CheckScope) -> dict[str, Any]:
        nulls = {c: scope.scalar(f"count(*) FILTER (WHERE {quote(scope.resolve(c))} IS NULL)")
                 for c in self.columns}
        return {"nulls_by_column": nulls, **super().details(scope)}
