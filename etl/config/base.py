"""Building blocks every config model shares: the strict base model and the value types.

Unknown keys are rejected (a typo fails at load, not at 2 a.m.) and models are frozen. Every
field carries a description so the generated JSON Schema documents the YAML for editors.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from etl.naming import IDENTIFIER_PATTERN

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=63)]
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

    def __init__(self, at: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.at = at
