"""Turning driver and DuckDB errors into one-line `SourceError` messages without secrets.

Drivers echo SQL, parameters and, in DuckDB's case, the whole connection string (password
included) into their messages. Everything that reaches a `SourceError` goes through
:func:`redact`, and the first line of the driver's own text is kept because it names the cause
("password authentication failed", "Connection refused", "relation ... does not exist").
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

import sqlalchemy as sa
from sqlalchemy.engine import URL

REDACTED = "***"
_SECRET_KEYS = re.compile(r"(?i)\b(password|passwd|pwd)\s*=\s*('(?:[^'\\]|\\.)*'|\"[^\"]*\"|\S+)")
_SECRET_IN_URL = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


def redact(text: str, secret: str | None) -> str:
    """``text`` with the secret (and its quoted/encoded forms) and ``password=...`` masked."""
    if secret:
        for form in sorted(_forms(secret), key=len, reverse=True):
            text = text.replace(form, REDACTED)
    text = _SECRET_KEYS.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _SECRET_IN_URL.sub(rf"\1:{REDACTED}@", text)


def _forms(secret: str) -> set[str]:
    escaped = secret.replace("\\", "\\\\").replace("'", "\\'")
    return {secret, escaped, secret.replace("'", "''"), quote(secret, safe=""),
            quote_plus(secret)} - {""}


def first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0].strip() if stripped else ""


def describe_db_error(error: BaseException, secret: str | None) -> str:
    """The driver's own message without the SQL echo, parameters or connection URL."""
    orig = getattr(error, "orig", None) if isinstance(error, sa.exc.StatementError) else None
    text = first_line(str(orig if orig is not None else error))
    return redact(text or type(error).__name__, secret)


def where(url: URL) -> str:
    """``backend://user@host:port/database`` for messages: enough to find it, no password."""
    host = f"{url.host or 'localhost'}{f':{url.port}' if url.port else ''}"
    user = f"{url.username}@" if url.username else ""
    return f"{url.get_backend_name()}://{user}{host}/{url.database or ''}"
