"""A stalled source fails the read within ``source.read_timeout_s`` instead of hanging the run.

A frozen server (or a network path that swallows packets) keeps a connection open and simply
never answers: the server cannot enforce its own statement timeout, and the operating system
still acknowledges what we send, so neither TCP keep-alives nor a driver's timeout fire. Only
the client can notice. Every blocking call on the source (connecting and planning, the value
check, each batch) therefore runs on a daemon thread the caller waits for at most
``read_timeout_s``; past it the call is cut off (:class:`EngineSockets` shuts the SQLAlchemy
connections' sockets, the DuckDB reader interrupts its connection) and a
:class:`~etl.sources.errors.SourceError` saying so is raised, which the stage's retry policy
takes as transient (:mod:`etl.stages.retries`).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from etl.sources.dialects.registry import Dialect
from etl.sources.errors import SourceError

T = TypeVar("T")
SETTING = "source.read_timeout_s"


def stalled(what: str, timeout_s: float) -> SourceError:
    """The error of a read that got nothing for ``timeout_s``: transient (it says timed out)."""
    return SourceError(f"{what} timed out: the source sent nothing for {timeout_s:g} s "
                       f"({SETTING}); the connection was abandoned")


def call_with_timeout(call: Callable[[], T], timeout_s: float | None, what: str,
                      cancel: Callable[[], object]) -> T:
    """``call()`` on a daemon thread; after ``timeout_s`` without a result, ``cancel()`` and
    raise :func:`stalled` (the thread is left to end when the driver returns)."""
    if timeout_s is None:
        return call()
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            box.put((True, call()))
        except BaseException as e:  # raised in the caller's thread
            box.put((False, e))

    threading.Thread(target=run, name="etl-source-call", daemon=True).start()
    try:
        ok, value = box.get(timeout=timeout_s)
    except queue.Empty:
        with contextlib.suppress(Exception):
            cancel()
        raise stalled(what, timeout_s) from None
    if not ok:
        raise value
    result: T = value
    return result


class EngineSockets:
    """The DBAPI connections an engine opens, so another thread can cut them off."""

    def __init__(self, engine: sa.Engine, dialect: Dialect) -> None:
        self._dialect = dialect
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        sa.event.listen(engine, "connect", self._opened)

    def _opened(self, dbapi_connection: Any, _record: Any) -> None:
        with self._lock:
            self._connections.append(dbapi_connection)

    def abort(self) -> None:
        """Make every blocked call on these connections fail now."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(Exception):
                self._dialect.abort(connection)
