"""Which data-quality checks a pipeline has, by name: its primary key's and its ``checks.rules``.

This is what both the definitions (one Dagster asset check per entry, on the checked stage)
and the step (which evaluates them, :mod:`etl.stages.quality`) read, so the two never
disagree about a check's name or whether it blocks the load. It imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from etl import naming
from etl.checks.base import CheckRule
from etl.checks.config import ChecksConfig
from etl.checks.not_null import NotNullRule
from etl.checks.unique import UniqueRule


class CheckedPipeline(Protocol):
    """What planning needs of a pipeline's config."""

    @property
    def primary_key(self) -> tuple[str, ...]: ...

    @property
    def checks(self) -> ChecksConfig: ...

    @property
    def load_input_stage(self) -> Literal["extract", "transfer"]: ...


@dataclass(frozen=True)
class PlannedCheck:
    """One asset check on ``stage`` of a pipeline."""

    name: str
    blocking: bool
    rule: CheckRule
    stage: naming.Stage

    def about(self, partitioned: bool) -> str:
        """What the check asserts, worded for a day or for master data."""
        where = (f"each day's {self.stage} output" if partitioned
                 else f"the master data's {self.stage} output")
        rule = self.rule
        if rule.description:
            text = rule.description
        elif self.name == naming.PRIMARY_KEY_UNIQUE_CHECK:
            text = f"The primary key ({', '.join(rule.checked_columns())}) is unique"
        elif self.name == naming.PRIMARY_KEY_NOT_NULL_CHECK:
            text = f"No part of the primary key ({', '.join(rule.checked_columns())}) is NULL"
        else:
            text = rule.text()
        subject = "a day that fails" if partitioned else "data that fails"
        effect = (f"Blocking: {subject} is not loaded." if self.blocking
                  else f"A warning: {subject} is loaded anyway.")
        return f"{text} in {where}. {effect}"


def planned_checks(pipeline: CheckedPipeline) -> tuple[PlannedCheck, ...]:
    """The primary-key checks (unless ``checks.primary_key: off``), then ``checks.rules``."""
    stage = pipeline.load_input_stage
    checks: list[PlannedCheck] = []
    level = pipeline.checks.primary_key
    if pipeline.primary_key and level != "off":
        blocking = level == "blocking"
        key = pipeline.primary_key
        checks += [
            PlannedCheck(naming.PRIMARY_KEY_UNIQUE_CHECK, blocking, UniqueRule(
                type="unique", columns=key, blocking=blocking), stage),
            PlannedCheck(naming.PRIMARY_KEY_NOT_NULL_CHECK, blocking, NotNullRule(
                type="not_null", columns=key, blocking=blocking), stage),
        ]
    checks += [PlannedCheck(r.check_name, r.blocking, r, stage) for r in pipeline.checks.rules]
    return tuple(checks)
