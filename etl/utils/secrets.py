"""Secret fields of resources, declared once and found again for redaction.

A secret reaches the process only as a resource field filled from an environment variable
(``dg.EnvVar``). Declaring it with :func:`secret_field` marks it for Dagster (masked in the UI)
and lets :func:`secret_values` collect every secret a step holds, nested resources included, so
an error that echoes one can be masked before it is logged.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import dagster as dg
from pydantic import BaseModel, Field

from etl.model.base import FieldProblem

_MARK = "dagster__is_secret"


def secret_field(description: str) -> Any:
    """A resource field holding a secret (``None`` when not configured)."""
    return Field(default=None, description=description, json_schema_extra={_MARK: True})


def secret_values(*resources: object) -> list[str]:
    """Every secret value held by ``resources`` and the resources nested in them."""
    found: list[str] = []
    for resource in resources:
        if not isinstance(resource, dg.ConfigurableResource):
            continue
        for name, info in type(resource).model_fields.items():
            value = getattr(resource, name, None)
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get(_MARK) and isinstance(value, str) and value:
                found.append(value)
            elif isinstance(value, dg.ConfigurableResource):
                found.extend(secret_values(value))
        derived = getattr(resource, "derived_secrets", None)  # e.g. a password inside a URL
        if callable(derived):
            found.extend(derived())
    return found


def read_env_fields(
    config: BaseModel, block: str, fields: Sequence[str]
) -> tuple[dict[str, str | None], list[FieldProblem]]:
    """The values of the variables ``config``'s ``*_env`` ``fields`` name, as a run reads them.

    A field that names a variable which is not set is a problem at ``<block>.<field>``; a field
    left empty gives None.
    """
    values: dict[str, str | None] = {}
    problems = []
    for name in fields:
        variable = getattr(config, name)
        values[name] = os.environ.get(variable) if variable else None
        if variable and values[name] is None:
            problems.append(FieldProblem((block, name), (
                f"names the environment variable {variable}, which is not set here")))
    return values, problems
