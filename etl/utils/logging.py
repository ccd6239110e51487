"""Messages that never carry a secret, and stay readable.

Secrets reach the process only as resource fields filled from environment variables; any text
that may echo them (driver errors, DuckDB's echo of a connection string, URLs) passes through
``redact`` before it is logged, stored as metadata or raised.

Where a secret can appear, it is masked whatever its length: a URL's password, ``password=``
pairs (libpq's connection string), ``PASSWORD '...'`` (DuckDB's MySQL secret), and any quoted
value equal to it (drivers quote what they echo). Anywhere else only a secret of at least
:data:`ANYWHERE_MIN_LEN` characters is masked: a short password that is also a word (the test
servers use ``etl``) would otherwise blank that word in every path and class name
(``/tmp/***/factories/...``, ``***.warehouse.base``), hiding the cause and hinting at the
password. ``etl validate`` warns about secrets that short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
ANYWHERE_MIN_LEN = 8
_QUOTED = r"'(?:[^'\\]|\\.)*'|\"[^\"]*\""
_SECRET_KEYS = re.compile(rf"(?i)\b(password|passwd|pwd)\s*=\s*({_QUOTED}|[^&\s'\";,)]+)")
_SECRET_WORDS = re.compile(rf"(?i)\b(password)(\s+)({_QUOTED})")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask the secrets (also quoted or URL-encoded), ``password=...`` and URL passwords."""
    known = {s for s in secrets if s}
    anywhere = {form for s in known if len(s) >= ANYWHERE_MIN_LEN for form in _forms(s)}
    for form in sorted(anywhere, key=len, reverse=True):
        text = text.replace(form, MASK)
    for secret in sorted(known, key=len, reverse=True):
        for form in sorted(_forms(secret), key=len, reverse=True):
            text = re.sub(rf"(['\"]){re.escape(form)}\1", rf"\1{MASK}\1", text)
    text = _SECRET_KEYS.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _SECRET_WORDS.sub(lambda m: f"{m.group(1)}{m.group(2)}'{MASK}'", text)
    return _URL_PASSWORD.sub(rf"\1:{MASK}@", text)


def _forms(secret: str) -> set[str]:
    escaped = secret.replace("\\", "\\\\").replace("'", "\\'")
    return {secret, escaped, secret.replace("'", "''"), quote(secret, safe=""),
            quote_plus(secret)} - {""}
