"""How reading a source fails: `SourceError`, one line without secrets, made from driver and
DuckDB errors.

Drivers echo SQL, parameters and, in DuckDB's case, the whole connection string (password
included) into their messages. Everything that reaches a `SourceError` goes through
:func:`etl.utils.logging.redact`, and the first line of the driver's own text is kept because
it names the cause ("password authentication failed", "Connection refused", "relation ...
does not exist").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etl.utils.logging import redact

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


class SourceError(RuntimeError):
    """Reading the source failed; the message names the cause and never holds a secret."""


def first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0].strip() if stripped else ""


def describe_db_error(error: BaseException, secret: str | None) -> str:
    """The driver's own message without the SQL echo, parameters or connection URL."""
    import sqlalchemy as sa

    orig = getattr(error, "orig", None) if isinstance(error, sa.exc.StatementError) else None
    text = first_line(str(orig if orig is not None else error))
    return redact(text or type(error).__name__, [secret])


def where(url: URL) -> str:
    """``backend://user@host:port/database`` for messages: enough to find it, no password."""
    host = f"{url.host or 'localhost'}{f':{url.port}' if url.port else ''}"
    user = f"{url.username}@" if url.username else ""
    return f"{url.get_backend_name()}://{user}{host}/{url.database or ''}"
