"""Secrets that are set but too short to be secrets.

Config names secrets by environment variable (``*_env`` fields). A variable that is set but
shorter than :data:`MIN_SECRET_LENGTH` is most likely a placeholder (``changeme`` is eight) or
a mistake; the warning names the variable, never its value or length.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from pydantic import BaseModel

from etl.config.issues import dotted
from etl.model.env_vars import env_fields

MIN_SECRET_LENGTH: Final = 8


def short_secrets(model: BaseModel, environ: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    return [
        f"{dotted(at)}: the environment variable {name} is set but shorter than "
        f"{MIN_SECRET_LENGTH} characters; use a real secret"
        for at, name in env_fields(model)
        if name in env and len(env[name]) < MIN_SECRET_LENGTH
    ]
