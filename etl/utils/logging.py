"""Logging that never prints a secret.

Secrets reach the process only as resource fields filled from environment variables; any text
that may echo them (driver errors, URLs) passes through ``redact`` before it is logged or raised.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+):[^@\s]+@")
MASK = "***"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask the given secret values and any password embedded in a URL."""
    out = _URL_PASSWORD.sub(rf"\g<scheme>:{MASK}@", text)
    for secret in secrets:
        if secret and len(secret) >= 3:
            out = out.replace(secret, MASK)
    return out


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"etl.{name}")
