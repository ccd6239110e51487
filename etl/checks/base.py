"""The contract every quality-check kind fulfils, and what it may ask of the day's data.

A check kind is one module of :mod:`etl.checks` with a config model subclassing
:class:`CheckRule` (its ``type`` literal is the ``checks.rules[].type`` users write) that knows
the SQL for its failing rows or its measure, words what it asserts and what it found, and adds
its own details to a failure. Registered in :mod:`etl.checks.registry`, it is part of the config
union, the JSON Schema and the runtime dispatch at once.

Kinds never touch a connection: they see a :class:`CheckScope` (the day's Parquet registered
as the relation ``input`` on a sandboxed DuckDB connection, :mod:`etl.stages.quality`), so a
tenant's expression only ever sees that day's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import Field

from etl.model.base import Identifier, StrictModel


class MissingColumn(ValueError):
    """A check names a column the checked file does not have."""


class CheckScope(Protocol):
    """The day's rows as a check kind may query them (the relation ``input``)."""

    def resolve(self, name: str) -> str:
        """The file's column for a configured name; :class:`MissingColumn` if it has none."""
        ...

    def is_sensitive(self, column: str) -> bool:
        """Whether the column's values must never appear in metadata (``sensitive_columns``)."""
        ...

    def scalar(self, expression: str) -> Any:
        """``SELECT <expression> FROM input``: one value."""
        ...

    def rows(self, query: str) -> Any:
        """The first rows of ``query`` as JSON metadata (a sample, never the whole day)."""
        ...

    def sample(self, source: str, prefix: str = "") -> dict[str, Any]:
        """Primary-key values of the rows ``source`` (``FROM ... WHERE ...``) selects."""
        ...


@dataclass(frozen=True)
class Judgement:
    """A check's verdict on one day: passed or not, the sentence shown, what it found."""

    passed: bool
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


class CheckRule(StrictModel):
    """One ``checks.rules`` entry; subclasses add their ``type`` literal and fields."""

    name: Identifier | None = Field(
        default=None,
        description="The check's name in Dagster (default: from the rule, e.g. not_null_qty).",
    )
    blocking: bool = Field(
        default=False,
        description=(
            "true: a failure is an error and the day is not loaded; false: a warning, the day "
            "is loaded anyway."
        ),
    )
    description: str = Field(default="", description="Shown on the check in Dagster.")

    example: ClassVar[dict[str, Any]]
    """A valid ``checks.rules`` entry of this kind over the columns ``id`` and ``status``."""
    example_days: ClassVar[tuple[list[tuple[int | None, str | None]], ...]]
    """Rows ``(id, status)`` of a day the example passes, then of one it fails (the contract
    test in ``tests/unit/test_architecture.py`` judges both)."""

    grouped: ClassVar[bool] = True
    """Whether a range's days are measured in one scan grouped by day: the kind's measure is an
    aggregate that stays right with ``GROUP BY`` the day added. A kind whose SQL a tenant writes
    says False, and each day is measured alone."""

    @property
    def check_name(self) -> str:
        return self.name or self.default_name()

    @property
    def kind(self) -> str:
        """The ``type:`` this rule was written with."""
        return str(getattr(self, "type"))  # noqa: B009 - every registered kind declares it

    def default_name(self) -> str:
        raise NotImplementedError

    def checked_columns(self) -> tuple[str, ...]:
        """The configured columns the rule reads (for descriptions; empty if none)."""
        return ()

    def text(self) -> str:
        """What the rule asserts, as a sentence fragment: ``qty are never NULL``."""
        raise NotImplementedError

    # --- evaluation ---------------------------------------------------------------------------

    def failing(self, scope: CheckScope) -> str:
        """The SQL predicate a failing row meets (row-level kinds)."""
        raise TypeError(f"check kind {self.kind!r} has no row predicate")

    def measure(self, scope: CheckScope) -> str:
        """The aggregate over ``input`` the verdict reads: by default, the failing rows."""
        return f"count(*) FILTER (WHERE {self.failing(scope)})"

    def judge(self, scope: CheckScope, measured: int, rows: int) -> Judgement:
        """The verdict from the measure: row-level kinds pass when no row fails."""
        meta: dict[str, Any] = {"failing_rows": measured}
        if measured == 0:
            return Judgement(True, f"{rows:,} rows checked, none fail", meta)
        meta.update(self.details(scope))
        return Judgement(False, self.failure_text(measured, rows), meta)

    def failure_text(self, failing: int, rows: int) -> str:
        return f"{failing:,} of {rows:,} rows fail"

    def details(self, scope: CheckScope) -> dict[str, Any]:
        """What a failure adds to its metadata: by default a sample of the failing rows' keys."""
        return scope.sample(f"FROM input WHERE {self.failing(scope)}")
