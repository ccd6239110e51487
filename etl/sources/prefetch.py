"""Read the next batch in a background thread while the consumer writes the current one.

DuckDB (one thread) decodes the source's rows only while someone pulls, and the Parquet writer
encodes only what it was handed; pulling in a thread lets both run at once (both release the
GIL). ``depth`` batches wait at most, so memory stays bounded by the batch size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_POLL_S = 0.1


class Prefetcher(Generic[T]):
    """Iterate ``source`` ahead of the consumer; :meth:`close` stops and joins the thread."""

    def __init__(self, source: Iterator[T], depth: int = 1) -> None:
        self._source = source
        self._queue: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="etl-prefetch", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        while True:
            kind, value = self._queue.get()
            if kind == "item":
                yield value  # type: ignore[misc]
            elif kind == "error" and isinstance(value, BaseException):
                raise value
            else:
                return

    def close(self, interrupt: Callable[[], object] | None = None) -> None:
        """Stop reading ahead; returns once the thread has let go of the source.

        ``interrupt`` cancels a read in progress (a consumer that failed should not wait for a
        slow source to deliver one more batch nobody will take).
        """
        self._stop.set()
        if interrupt is not None and self._thread.is_alive():
            interrupt()
        self._thread.join()

    def _produce(self) -> None:
        try:
            for item in self._source:
                if not self._put(("item", item)):
                    return
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
