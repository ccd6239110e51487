"""Secrets that are set but too short to be secrets.

Config names secrets by environment variable (``*_env`` fields). A variable that is set but
shorter than :data:`MIN_SECRET_LENGTH` is most likely a placeholder (``changeme`` is eight) or
a mistake; the warning names the variable, never its value or length.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Final

from pydantic import BaseModel

from etl.model.base import ENV_FIELD_SUFFIX

MIN_SECRET_LENGTH: Final = 8


def env_fields(model: BaseModel, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(dotted field, variable name) of every ``*_env`` field set in ``model``."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from env_fields(value, (*path, name))
        elif name.endswith(ENV_FIELD_SUFFIX) and isinstance(value, str):
            yield ".".join((*path, name)), value


def short_secrets(model: BaseModel, environ: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    return [
        f"{field}: the environment variable {name} is set but shorter than "
        f"{MIN_SECRET_LENGTH} characters; use a real secret"
        for field, name in env_fields(model)
        if name in env and len(env[name]) < MIN_SECRET_LENGTH
    ]
