"""The ``checks:`` block of a pipeline: data-quality rules on the day's Parquet.

The primary key is checked by default (unique and not null). ``rules`` add checks of the
registered kinds (:mod:`etl.checks.registry`: ``not_null``, ``unique``, ``accepted_values``, a
``row_count`` range and SQL ``expression`` rules); each is a Dagster asset check on the last
Parquet stage of the pipeline (the transfer if there is one, else the extract), blocking (a
failure stops the day from being loaded) or a warning.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from etl import naming
from etl.checks.registry import QualityRule
from etl.model.base import StrictModel

KeyCheckLevel = Literal["blocking", "warn", "off"]
_RESERVED = frozenset({naming.PRIMARY_KEY_UNIQUE_CHECK, naming.PRIMARY_KEY_NOT_NULL_CHECK,
                       naming.RECONCILE_CHECK, naming.FRESHNESS_CHECK})


class ChecksConfig(StrictModel):
    """A pipeline's data-quality checks, run after the stage they check, before the load."""

    primary_key: KeyCheckLevel = Field(
        default="blocking",
        description=(
            "The checks that primary_key is unique and not null: 'blocking' (default), 'warn', "
            "or 'off'."
        ),
    )
    rules: tuple[QualityRule, ...] = Field(default=(), description="More checks.")

    @model_validator(mode="after")
    def _distinct_names(self) -> ChecksConfig:
        seen: set[str] = set()
        for rule in self.rules:
            name = rule.check_name
            if name in _RESERVED:
                raise ValueError(f"check name {name!r} is reserved; set another 'name'")
            if name in seen:
                raise ValueError(
                    f"two rules are both named {name!r}; give one of them its own 'name'")
            seen.add(name)
        return self
