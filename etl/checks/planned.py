"""Which data-quality checks a pipeline has, by name: its primary key's and its ``checks.rules``.

This is what both the definitions (one Dagster asset check per entry, on the checked stage)
and the step (which evaluates them, :mod:`etl.stages.quality`) read, so the two never
disagree about a check's name or whether it blocks the load. It imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl import naming
from etl.config.checks import (
    AcceptedValuesRule,
    ExpressionRule,
    NotNullRule,
    RowCountRule,
    UniqueRule,
)
from etl.config.tenant_config import PipelineAssetConfig

Rule = NotNullRule | UniqueRule | AcceptedValuesRule | RowCountRule | ExpressionRule


@dataclass(frozen=True)
class PlannedCheck:
    """One asset check on ``stage`` of a pipeline."""

    name: str
    blocking: bool
    rule: Rule
    stage: naming.Stage

    def about(self, partitioned: bool) -> str:
        """What the check asserts, worded for a day or for master data."""
        where = (f"each day's {self.stage} output" if partitioned
                 else f"the master data's {self.stage} output")
        rule = self.rule
        if rule.description:
            text = rule.description
        elif self.name == naming.PRIMARY_KEY_UNIQUE_CHECK:
            text = f"The primary key ({', '.join(rule_columns(rule))}) is unique"
        elif self.name == naming.PRIMARY_KEY_NOT_NULL_CHECK:
            text = f"No part of the primary key ({', '.join(rule_columns(rule))}) is NULL"
        else:
            text = _rule_text(rule)
        subject = "a day that fails" if partitioned else "data that fails"
        effect = (f"Blocking: {subject} is not loaded." if self.blocking
                  else f"A warning: {subject} is loaded anyway.")
        return f"{text} in {where}. {effect}"


def planned_checks(pipeline: PipelineAssetConfig) -> tuple[PlannedCheck, ...]:
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


def rule_columns(rule: Rule) -> tuple[str, ...]:
    if isinstance(rule, NotNullRule | UniqueRule):
        return rule.columns
    if isinstance(rule, AcceptedValuesRule):
        return (rule.column,)
    return ()


def _rule_text(rule: Rule) -> str:
    if isinstance(rule, NotNullRule):
        return f"{', '.join(rule.columns)} are never NULL"
    if isinstance(rule, UniqueRule):
        return f"({', '.join(rule.columns)}) is unique"
    if isinstance(rule, AcceptedValuesRule):
        shown = ", ".join(str(v) for v in rule.values[:10])
        more = f" and {len(rule.values) - 10} more" if len(rule.values) > 10 else ""
        return f"{rule.column} is one of {shown}{more}"
    if isinstance(rule, RowCountRule):
        return f"The row count is {_bounds(rule)}"
    return f"{rule.sql} holds on every row"


def _bounds(rule: RowCountRule) -> str:
    if rule.min is not None and rule.max is not None:
        return f"between {rule.min:,} and {rule.max:,}"
    return f"at least {rule.min:,}" if rule.min is not None else f"at most {rule.max:,}"
