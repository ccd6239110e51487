"""One Trino connection for one load: every statement drained, every failure a WarehouseError.

The ``trino`` client reports a failed statement only when its result is read, so each statement
is fetched to the end here; otherwise a failed ``CALL`` or ``ALTER`` would pass silently and the
load would report success. Connection failures become one readable sentence naming the
coordinator, and any configured secret is masked out of every message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import trino.exceptions

from etl.utils.logging import redact
from etl.warehouse.base import WarehouseError

_ERRNO_RE = re.compile(r"\[Errno -?\d+\] [^'\")\]]+")
_HINTS = {
    "timestamp precision": "set hive.timestamp-precision=MICROSECONDS in the Hive catalog",
    "register_partition": "set hive.allow-register-partition-procedure=true in the Hive catalog",
}


class TrinoStatementError(WarehouseError):
    """Trino ran the statement and rejected it; ``error_name`` is Trino's code."""

    def __init__(self, message: str, error_name: str) -> None:
        super().__init__(message)
        self.error_name = error_name


class TrinoSession:
    """A DB-API connection with error translation; close it (or use ``with``)."""

    def __init__(
        self, connect: Callable[[], Any], address: str, secrets: Sequence[str | None] = ()
    ) -> None:
        self.address = address
        self._secrets = [s for s in secrets if s]
        self._connect = connect
        self._conn: Any = None
        self.statements = 0  # how many statements this session ran (a load reports it)

    def __enter__(self) -> TrinoSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.close()
            except Exception:  # closing a connection to a dead server must not mask the cause
                pass

    def run(self, sql: str, params: Sequence[object] | None = None, *,
            what: str) -> list[tuple[Any, ...]]:
        """Execute and drain one statement; ``what`` says what it was for, in errors."""
        self.statements += 1
        try:
            if self._conn is None:
                self._conn = self._connect()
                # Trino >= 418 has EXECUTE IMMEDIATE; skip the client's probe, which would also
                # cache "legacy" for an hour if the first probe hit a server that was down.
                if getattr(self._conn, "legacy_prepared_statements", False) is None:
                    self._conn.legacy_prepared_statements = False
            cursor = self._conn.cursor()
            if params:
                cursor.execute(sql, list(params))
            else:
                cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
        except trino.exceptions.TrinoQueryError as e:
            raise TrinoStatementError(
                self._redact(f"{what} failed on Trino {self.address}: {e.error_name}: "
                             f"{e.message}{_hint(e.message)}"),
                e.error_name or "",
            ) from e
        except (trino.exceptions.TrinoAuthError, trino.exceptions.HttpError) as e:
            raise WarehouseError(self._redact(
                f"{what}: Trino at {self.address} refused the request: {e}; check warehouse "
                "user, http_scheme and the password/JWT environment variable"
            )) from e
        # requests' errors are OSErrors; the client wraps most in TrinoConnectionError.
        except (trino.exceptions.TrinoConnectionError, OSError) as e:
            raise WarehouseError(self._redact(
                f"{what}: cannot reach Trino at {self.address}: {_cause(e)}; is the coordinator "
                "running, and are warehouse.host and warehouse.port right?"
            )) from e

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)


def _cause(error: BaseException) -> str:
    """The useful end of a requests/urllib3 error chain, e.g. '[Errno 111] Connection refused'."""
    text = str(error)
    found = _ERRNO_RE.search(text)
    if found:
        return found.group(0).strip()
    if "timed out" in text.lower():
        return "timed out"
    return f"{type(error).__name__}: {text[:300]}"


def _hint(message: str) -> str:
    for needle, hint in _HINTS.items():
        if needle in message.lower():
            return f" (hint: {hint})"
    return ""
