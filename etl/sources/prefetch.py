"""Read the source in a background thread, ahead of the consumer and under a time limit.

DuckDB (one thread) decodes the source's rows only while someone pulls, and the Parquet writer
encodes only what it was handed; pulling in a thread lets both run at once (both release the
GIL). ``depth`` items wait at most, so memory stays bounded by the batch size.

The thread also keeps a stalled source from hanging the run. A server that stops answering
(frozen, a dead network path that still accepts packets) blocks the read inside the driver,
where no Python timeout reaches; the consumer instead waits at most ``timeout_s`` for each item,
then interrupts the read (``interrupt``: DuckDB's ``interrupt()``, a socket shut down) and
raises ``stalled()``. A read the interrupt cannot reach is abandoned: its thread is a daemon,
and it releases the source itself (the generator's ``finally``) whenever the driver returns.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_POLL_S = 0.1
CLOSE_WAIT_S = 5.0
"""How long closing waits for the thread to let go of the source before abandoning it."""


class ReadStopped(RuntimeError):
    """The read was interrupted from outside (the run was stopped)."""


class Prefetcher(Generic[T]):
    """Iterate ``source`` ahead of the consumer; :meth:`close` stops the thread."""

    def __init__(self, source: Iterator[T], depth: int = 1, *, timeout_s: float | None = None,
                 stalled: Callable[[], BaseException] | None = None,
                 interrupt: Callable[[], object] | None = None) -> None:
        self._source = source
        self._queue: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._aborted = threading.Event()
        self._given_up = False  # a stalled or aborted read is not waited for again
        self._timeout_s = timeout_s
        self._stalled = stalled or (lambda: TimeoutError(f"no data for {timeout_s} s"))
        self._interrupt = interrupt
        self._thread = threading.Thread(target=self._produce, name="etl-prefetch", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        while True:
            kind, value = self._next()
            if kind == "item":
                yield value  # type: ignore[misc]
            elif kind == "error" and isinstance(value, BaseException):
                raise value
            else:
                return

    def _next(self) -> tuple[str, object]:
        deadline = None if self._timeout_s is None else time.monotonic() + self._timeout_s
        while True:
            if self._aborted.is_set():
                raise ReadStopped("the read was stopped")
            wait = _POLL_S if deadline is None else min(_POLL_S, deadline - time.monotonic())
            try:
                return self._queue.get(timeout=max(wait, 0.0))
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    self._given_up = True
                    self.close(wait_s=0)
                    raise self._stalled() from None

    def abort(self) -> None:
        """Stop from another thread: interrupt the read; the consumer raises ReadStopped."""
        self._aborted.set()
        self._given_up = True
        self.close(wait_s=0)

    def close(self, interrupt: Callable[[], object] | None = None,
              wait_s: float = CLOSE_WAIT_S) -> bool:
        """Stop reading ahead; whether the thread let go of the source within ``wait_s``.

        A read in progress is interrupted (``interrupt``, else the one given at construction):
        a consumer that failed should not wait for a slow source to deliver one more batch
        nobody will take. If it does not return in time, its thread is left to finish alone.
        """
        self._stop.set()
        cancel = interrupt or self._interrupt
        if cancel is not None and self._thread.is_alive():
            cancel()
        self._thread.join(0 if self._given_up else wait_s)
        return not self._thread.is_alive()

    def _produce(self) -> None:
        try:
            try:
                for item in self._source:
                    if not self._put(("item", item)):
                        return
            finally:
                close = getattr(self._source, "close", None)
                if close is not None:
                    close()  # a generator's cleanup runs here, in the thread that used it
        except BaseException as e:  # handed to the consumer, raised there
            self._put(("error", e))
            return
        self._put(("end", None))

    def _put(self, entry: tuple[str, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False
