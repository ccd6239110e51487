"""The work a step has in flight, so stopping the step interrupts it instead of waiting for it.

A step runs its pipelines on worker threads. When the run is terminated, Dagster stops the
step's main thread; the workers would go on until their current query ends (a transfer's cross
join, a long source read), writing all the while, and the process could not exit before them.
Each piece of blocking work (a DuckDB connection, a source read) registers how to interrupt
it for as long as it runs; :meth:`LiveWork.interrupt` calls every one, and anything registered
afterwards is interrupted at once.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator


class LiveWork:
    """Interrupt callbacks of the work running now; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[int, Callable[[], object]] = {}
        self._ids = itertools.count()
        self._interrupted = False

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    @contextlib.contextmanager
    def running(self, interrupt: Callable[[], object]) -> Iterator[None]:
        """Register ``interrupt`` while the block runs (called now if already interrupted)."""
        with self._lock:
            key = next(self._ids)
            self._live[key] = interrupt
            late = self._interrupted
        if late:
            _quietly(interrupt)
        try:
            yield
        finally:
            with self._lock:
                self._live.pop(key, None)

    def interrupt(self) -> None:
        """Interrupt everything running, and whatever registers later."""
        with self._lock:
            self._interrupted = True
            live = list(self._live.values())
        for interrupt in live:
            _quietly(interrupt)


def _quietly(interrupt: Callable[[], object]) -> None:
    # An interrupt races the work's own end: a connection closed a moment ago raises.
    with contextlib.suppress(Exception):
        interrupt()
