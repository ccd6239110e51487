"""What every config model builds on: the strict base model, the value types and field errors.

The tenant config's blocks (:mod:`etl.config`) and every registered part that brings a config
model of its own (warehouse kinds, check kinds) share these, so a part depends on this module
and never on the config that assembles the parts.

Unknown keys are rejected (a typo fails at load, not at 2 a.m.) and models are frozen. Every
field carries a description so the generated JSON Schema documents the YAML for editors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from etl.naming import IDENTIFIER_MAX_LENGTH, IDENTIFIER_PATTERN

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN,
                                              max_length=IDENTIFIER_MAX_LENGTH)]
ENV_VAR_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
EnvVarName = Annotated[str, StringConstraints(pattern=ENV_VAR_PATTERN)]
SourceIdentifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
]
ColumnName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*$")]
TagValue = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{0,63}$")]
ENV_FIELD_SUFFIX = "_env"
"""Config fields ending in this name an environment variable (a secret or a whole URL)."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldError(ValueError):
    """A model validator's error about one field of the model: ``at`` is that field's path.

    Pydantic places a model validator's error at the model itself; the loader reads ``at`` to
    point the message at the line of the field to fix (``storage.root``, not ``storage``).
    """

    def __init__(self, at: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.at = at


@dataclass(frozen=True)
class FieldProblem:
    """A problem found outside the file (e.g. by ``etl validate --connect``) and the config
    field to fix for it; the loader's ``issue`` turns it into a :class:`ConfigIssue`."""

    at: tuple[str | int, ...]
    message: str
