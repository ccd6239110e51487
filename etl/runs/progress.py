"""Progress of a run as it happens: days done of the total, rows, rows per second, ETA.

The watcher reads the run's events from the instance (the same events the UI shows), so it
works the same for a run executing in this process and for one a daemon runs elsewhere. On a
terminal it redraws one line; elsewhere (CI logs, pipes) it prints a plain line at most every
few seconds, and always a last one. A stage that is tried again after a transient failure says
so on a line of its own as it happens (the step's engine events marked ``etl/notice``), so a
source that stalls or drops out is seen where the run is watched, not only in Dagster's log.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TextIO

import dagster as dg

from etl import naming

POLL_S = 0.5
# Only what the tally reads: a range run's check results and logs are most of its events.
COUNTED = {dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.STEP_FAILURE,
           dg.DagsterEventType.ENGINE_EVENT}
PLAIN_EVERY_S = 5.0


@dataclass
class Tally:
    """What a run has done so far, from its events."""

    keys: frozenset[dg.AssetKey]
    days: int  # days the run covers (0 for master data)
    done: dict[str | None, set[dg.AssetKey]] = field(default_factory=lambda: defaultdict(set))
    rows: int = 0
    failed: bool = False
    notices: list[str] = field(default_factory=list)  # not yet printed

    @property
    def row_stage(self) -> str:
        """The stage whose rows are counted: the first one the run has (a load_job's load)."""
        stages = {key.path[1] for key in self.keys if len(key.path) > 1}
        return next((s for s in naming.STAGES if s in stages), "extract")

    def record(self, event: dg.EventLogEntry) -> None:
        dagster_event = event.dagster_event
        if dagster_event is None:
            return
        if dagster_event.is_step_failure:
            self.failed = True
        if dagster_event.event_type == dg.DagsterEventType.ENGINE_EVENT:
            data = dagster_event.engine_event_data
            if data is not None and naming.NOTICE_METADATA in (data.metadata or {}):
                self.notices.append(dagster_event.message or event.user_message)
            return
        if dagster_event.event_type != dg.DagsterEventType.ASSET_MATERIALIZATION:
            return
        mat = dagster_event.step_materialization_data.materialization
        self.done[mat.partition].add(mat.asset_key)
        if mat.asset_key.path[1:2] == [self.row_stage]:
            value = mat.metadata.get("dagster/row_count")
            self.rows += int(getattr(value, "value", 0) or 0)

    @property
    def days_done(self) -> int:
        return sum(1 for keys in self.done.values() if self.keys <= keys)


class RunWatcher:
    """Polls one run's events on a thread and renders them to ``out``."""

    def __init__(self, instance: dg.DagsterInstance, label: str, keys: frozenset[dg.AssetKey],
                 days: int, out: TextIO | None = None) -> None:
        self.instance = instance
        self.label = label
        self.tally = Tally(keys, days)
        self.out = out or sys.stderr
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self._run_id: str | None = None
        self._cursor: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="etl-progress", daemon=True)
        self._started = time.monotonic()
        self._printed = 0.0

    def start(self, run: dg.DagsterRun) -> None:
        self._run_id = run.run_id
        self._started = self._printed = time.monotonic()
        self._thread.start()

    def finish(self, status: str) -> str:
        """Stop watching, read the last events and print the final line."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._poll()
        line = f"{self.render()} — {status} in {time.monotonic() - self._started:.1f}s"
        self._emit(line, final=True)
        return line

    def render(self) -> str:
        t = self.tally
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = f"{t.rows:,} rows, {t.rows / elapsed:,.0f} rows/s"
        if not t.days:  # master data: one snapshot
            return f"{self.label}: {'done' if t.days_done else 'running'}, {rate}"
        done = t.days_done
        eta = f", ETA {_clock(elapsed / done * (t.days - done))}" if 0 < done < t.days else ""
        return f"{self.label}: {done}/{t.days} day(s), {rate}{eta}"

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            self._poll()
            now = time.monotonic()
            if self.tty or now - self._printed >= PLAIN_EVERY_S:
                self._emit(self.render())
                self._printed = now

    def _poll(self) -> None:
        if self._run_id is None:
            return
        while True:
            conn = self.instance.get_records_for_run(self._run_id, cursor=self._cursor,
                                                     of_type=COUNTED, limit=1000)
            for record in conn.records:
                self.tally.record(record.event_log_entry)
            self._cursor = conn.cursor
            notices, self.tally.notices = self.tally.notices, []
            for text in notices:
                self._emit(f"{self.label}: {text}", final=True)
            if not conn.has_more:
                return

    def _emit(self, line: str, final: bool = False) -> None:
        if self.tty:
            end = "\n" if final else ""
            self.out.write(f"\r\033[K{line}{end}")
        else:
            self.out.write(line + "\n")
        self.out.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
