"""``unique``: the columns together identify a row (rows with a NULL in them are not compared)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from etl import naming
from etl.checks.base import CheckRule, CheckScope
from etl.model.base import ColumnName
from etl.utils.sql import quote


class UniqueRule(CheckRule):
    """The columns together identify a row (rows with a NULL in them are not compared)."""

    type: Literal["unique"] = Field(description="The kind of rule.")
    columns: tuple[ColumnName, ...] = Field(
        min_length=1, description="Columns whose combination must be unique."
    )

    example: ClassVar[dict[str, Any]] = {"type": "unique", "columns": ["id"]}
    example_days: ClassVar[tuple[list[tuple[int | None, str | None]], ...]] = (
        [(1, "open"), (2, "open")], [(1, "open"), (1, "closed")])

    def default_name(self) -> str:
        return naming.rule_check_name("unique", self.columns)

    def checked_columns(self) -> tuple[str, ...]:
        return self.columns

    def text(self) -> str:
        return f"({', '.join(self.columns)}) is unique"

    def _present(self, scope: CheckScope) -> tuple[list[str], str]:
        cols = [scope.resolve(c) for c in self.columns]
        return cols, " AND ".join(f"{quote(c)} IS NOT NULL" for c in cols)

    def measure(self, scope: CheckScope) -> str:
        cols, present = self._present(scope)
        quoted = [quote(c) for c in cols]
        key = quoted[0] if len(quoted) == 1 else f"({', '.join(quoted)})"
        return (f"count(*) FILTER (WHERE {present}) - "
                f"count(DISTINCT {key}) FILTER (WHERE {present})")

    def failure_text(self, failing: int, rows: int) -> str:
        return (f"{failing:,} of {rows:,} rows repeat a ({', '.join(self.columns)}) "
                "seen on another row")

    def details(self, scope: CheckScope) -> dict[str, Any]:
        """The most repeated keys with their counts, and a sample of the rows repeating them."""
        cols, present = self._present(scope)
        out: dict[str, Any] = {}
        dupes = (f"SELECT {', '.join(map(quote, cols))} FROM input WHERE {present} "
                 "GROUP BY ALL HAVING count(*) > 1")
        shown = [c for c in cols if not scope.is_sensitive(c)]
        if shown:
            listed = ", ".join(map(quote, shown))
            out["duplicates"] = scope.rows(
                f"SELECT {listed}, count(*) AS rows FROM input WHERE {present} "
                f"GROUP BY ALL HAVING count(*) > 1 ORDER BY rows DESC, {listed}")
        join = f"JOIN ({dupes}) AS d USING ({', '.join(map(quote, cols))})"
        out.update(scope.sample(f"FROM input AS i {join}", prefix="i."))
        return out
