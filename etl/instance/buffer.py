"""A write-behind buffer for a run's per-day asset events, in front of Dagster's event log.

A range run reports thousands of events of a few kinds: each day's planned materialization
(written when the run is created), materialization and check result, and the step's log lines
between them. Dagster's stock storages
write each one on its own, with connections and commits of their own. The storages of
:mod:`etl.instance.storage` hold those events (:data:`BUFFERED`) in memory and write them in one
batch: one statement or transaction for the event rows, one for every index table.

The buffer is written before anything else can observe the storage:

* before any other event of the process (a step's success or failure, a log line, a run's
  status), under the same lock, so no success is ever stored ahead of the days it covers;
* before any public method of the storage runs (a read sees everything this process wrote);
* when it holds ``buffer_max_events`` events, or its oldest event is ``buffer_max_ms`` old (a
  timer thread), and on ``dispose()`` and at interpreter exit.

A process killed with SIGKILL loses at most the events of the last ``buffer_max_ms``: the days
they describe then show as failed once the run is marked failed, and a rerun redoes them.
A forked child drops its parent's buffer, which the parent writes.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import dagster as dg

from etl.instance.private import EventLogStorage

if TYPE_CHECKING:
    from etl.instance.private import SqlEventLogStorage as _Base
else:
    _Base = object

BUFFERED: frozenset[dg.DagsterEventType | None] = frozenset({
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_OBSERVATION,
    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
    # What a step says between its days: its log lines (no Dagster event type) and its
    # outputs. Written in order with the days, they no longer write the buffer one by one: a
    # one-day run of 27 pipelines wrote 102 batches, most of them for one log line each.
    None,
    dg.DagsterEventType.STEP_OUTPUT,
})
DEFAULT_MAX_EVENTS = 1000
DEFAULT_MAX_MS = 1000
BUFFER_CONFIG = {
    "buffer_max_events": dg.Field(
        dg.IntSource, is_required=False, default_value=DEFAULT_MAX_EVENTS,
        description="Write the buffered events once this many are held."),
    "buffer_max_ms": dg.Field(
        dg.IntSource, is_required=False, default_value=DEFAULT_MAX_MS,
        description="Write the buffered events once the oldest is this old (milliseconds); "
                    "what a killed process can lose at most."),
}
# Methods of the storage API that must not write the buffer first: the write path itself and
# the storage's own life cycle.
_NO_FLUSH = frozenset({"store_event", "store_event_batch", "flush_buffer", "buffered_events",
                       "dispose", "register_instance", "optimize_for_webserver"})

# What this process's storages wrote in batches (read by the benchmarks).
STATS = {"batches": 0, "events": 0, "seconds": 0.0}
_LIVE: weakref.WeakSet[EventBuffer] = weakref.WeakSet()
_CALLS = threading.local()  # depth of storage calls on this thread: only the outermost flushes
C = TypeVar("C", bound=type)


class EventBuffer(_Base):
    """Buffers :data:`BUFFERED` events of a run; the backend writes a batch (``_write_batch``)."""

    def _init_buffer(self, max_events: int, max_ms: int) -> None:
        self._buffer: list[dg.EventLogEntry] = []
        self._buffer_lock = threading.RLock()
        self._oldest = 0.0
        self._max_events = max(1, max_events)
        self._max_s = max_ms / 1000.0
        self._timer: threading.Thread | None = None
        self._stopped = threading.Event()
        self._pid = os.getpid()
        self._pending_error: BaseException | None = None
        self.written = {"batches": 0, "events": 0, "seconds": 0.0}
        _LIVE.add(self)

    @staticmethod
    def buffers(event: dg.EventLogEntry) -> bool:
        return bool(event.run_id) and event.dagster_event_type in BUFFERED

    def buffered_events(self) -> int:
        return len(self._buffer)

    def store_event(self, event: dg.EventLogEntry) -> None:
        if self.buffers(event):
            with self._buffer_lock:
                self._raise_pending()
                if not self._buffer:
                    self._oldest = time.monotonic()
                self._buffer.append(event)
                if len(self._buffer) >= self._max_events:
                    self._flush_locked()
                else:
                    self._ensure_timer()
            return
        with self._buffer_lock:  # a timed flush cannot run between these two writes
            self._flush_locked()
            self._raise_pending()
            super().store_event(event)

    def store_event_batch(self, events: Sequence[dg.EventLogEntry]) -> None:
        for event in events:  # DAGSTER_EVENT_BATCH_SIZE batches: buffered like the rest
            self.store_event(event)

    def flush_buffer(self) -> None:
        """Write what the buffer holds now (raises what a timed write raised before)."""
        with self._buffer_lock:
            self._flush_locked()
            self._raise_pending()

    def dispose(self) -> None:
        try:
            self.flush_buffer()
        finally:
            self._stopped.set()
            super().dispose()

    def _flush_locked(self) -> None:
        if not self._buffer:
            return
        if os.getpid() != self._pid:  # a forked child: the parent writes its own events
            self._buffer = []
            return
        events, self._buffer = self._buffer, []
        started = time.perf_counter()
        self._write_segments(events)
        for stats in (self.written, STATS):
            stats["batches"] += 1
            stats["events"] += len(events)
            stats["seconds"] += time.perf_counter() - started

    def _write_segments(self, events: list[dg.EventLogEntry]) -> None:
        """Each stretch of one run's events as a batch, in order; the first error is raised
        once every stretch has been tried."""
        error: BaseException | None = None
        for segment in _by_run(events):
            try:
                self._write_batch(segment)
            except IndexStageFailed as failed:  # event rows committed: their index once more
                _warn(f"index rows of {len(segment)} event(s) failed ({failed.__cause__}); "
                      "retrying once")
                try:
                    failed.retry()
                except Exception as again:
                    error = error or again
            except Exception as failed:  # nothing committed: Dagster's own writes, one by one
                _warn(f"batch of {len(segment)} event(s) failed ({failed}); writing them one "
                      "by one")
                try:
                    for event in segment:
                        super().store_event(event)
                except Exception as again:
                    error = error or again
        if error is not None:
            raise error

    def _write_batch(self, events: list[dg.EventLogEntry]) -> None:
        raise NotImplementedError

    def _raise_pending(self) -> None:
        error, self._pending_error = self._pending_error, None
        if error is not None:
            raise RuntimeError("events buffered by this process could not be stored") from error

    def _ensure_timer(self) -> None:
        """Start the timer thread unless it runs (called holding the buffer's lock)."""
        if self._max_s <= 0 or self._timer is not None:
            return
        self._stopped.clear()
        self._timer = threading.Thread(target=_timed_flush, args=(weakref.ref(self),),
                                       name="etl-event-flush", daemon=True)
        self._timer.start()

    def _timed(self) -> float | None:
        """Flush if the oldest event is due; the seconds until it is due, None when the buffer
        is empty (the thread ends; the next buffered event starts another)."""
        with self._buffer_lock:
            if self._stopped.is_set() or not self._buffer:
                self._timer = None
                return None
            due = self._oldest + self._max_s - time.monotonic()
            if due > 0:
                return due
            try:
                self._flush_locked()
            except Exception as error:  # raised by the next write of this process
                self._pending_error = error
            self._timer = None
            return None

    def _after_fork(self) -> None:
        self._buffer = []
        self._buffer_lock = threading.RLock()
        self._pid = os.getpid()
        self._timer = None


class IndexStageFailed(Exception):
    """The event rows of a batch are stored, their index rows are not; ``retry`` writes them."""

    def __init__(self, retry: Callable[[], None]) -> None:
        super().__init__("index rows not written")
        self.retry = retry


def flush_first(cls: C) -> C:
    """Every public method of the storage API writes the buffer first (reads see it all)."""
    names = {name for klass in cls.__mro__ if issubclass(klass, EventLogStorage)
             for name, value in vars(klass).items()
             if not name.startswith("_") and name not in _NO_FLUSH and callable(value)
             and not isinstance(value, staticmethod | classmethod | property)}
    for name in names:
        setattr(cls, name, _flushing(getattr(cls, name)))
    return cls


def _flushing(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: EventBuffer, *args: Any, **kwargs: Any) -> Any:
        depth = getattr(_CALLS, "depth", 0)
        if depth == 0 and self._buffer:
            self.flush_buffer()
        elif depth == 0:  # a batch another thread took (the timer's) may be in its write
            with self._buffer_lock:
                pass
        _CALLS.depth = depth + 1
        try:
            return method(self, *args, **kwargs)
        finally:
            _CALLS.depth = depth

    return wrapper


def _by_run(events: list[dg.EventLogEntry]) -> Iterator[list[dg.EventLogEntry]]:
    segment: list[dg.EventLogEntry] = []
    for event in events:
        if segment and event.run_id != segment[-1].run_id:
            yield segment
            segment = []
        segment.append(event)
    if segment:
        yield segment


def _timed_flush(ref: weakref.ref[EventBuffer]) -> None:
    while True:
        storage = ref()
        if storage is None:
            return
        wait = storage._timed()
        stopped = storage._stopped
        del storage
        if wait is None or stopped.wait(max(wait, 0.005)):
            return


def _warn(text: str) -> None:
    sys.stderr.write(f"etl event log: {text}\n")


@atexit.register
def _flush_all() -> None:
    for storage in list(_LIVE):
        try:
            storage.flush_buffer()
        except Exception as error:
            _warn(f"events buffered at exit could not be stored: {error}")


def _reset_in_child() -> None:
    for storage in list(_LIVE):
        storage._after_fork()


os.register_at_fork(after_in_child=_reset_in_child)
