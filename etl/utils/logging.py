"""Messages that never carry a secret.

Secrets reach the process only as resource fields filled from environment variables; any text
that may echo them (driver errors, DuckDB's echo of a connection string, URLs) passes through
``redact`` before it is logged, stored as metadata or raised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
_SECRET_KEYS = re.compile(
    r"(?i)\b(password|passwd|pwd)\s*=\s*('(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^&\s'\";]+)"
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")
_MIN_SECRET_LEN = 3  # masking "a" or "12" everywhere would garble messages, not protect


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask the secrets (also quoted or URL-encoded), ``password=...`` and URL passwords."""
    forms = {form for s in secrets if s and len(s) >= _MIN_SECRET_LEN for form in _forms(s)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    text = _SECRET_KEYS.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _URL_PASSWORD.sub(rf"\1:{MASK}@", text)


def _forms(secret: str) -> set[str]:
    escaped = secret.replace("\\", "\\\\").replace("'", "\\'")
    return {secret, escaped, secret.replace("'", "''"), quote(secret, safe=""),
            quote_plus(secret)} - {""}
