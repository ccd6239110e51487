"""Progress of a run as it happens: days done per stage, rows, rows per second, time left.

The watcher reads the run's events from the instance (the same events the UI shows), so it
works the same for a run executing in this process and for one a daemon runs elsewhere. On a
terminal it redraws one line; elsewhere (CI logs, pipes) it prints a plain line at most every
few seconds, and always a last one. A stage that is tried again after a transient failure says
so on a line of its own as it happens (the step's engine events marked ``etl/notice``), so a
source that stalls or drops out is seen where the run is watched, not only in Dagster's log.

A day is done when every asset of the run has its materialization for it; while the run goes,
each stage shows its own days (``extract 1,480``), since a range's load lands only after its
extract. The time left comes from the stage that governs the remainder: the first stage not
yet through every day, at its own pace per day, plus the stages after it, estimated from that
pace (:data:`LATER_STAGE_SHARE`) until they report days of their own. A range's load writes
every day in one statement and then reports them all, faster than a busy instance lets them be
read: once its days arrive the line says so (``load written, recording its other 1,215 days``)
instead of a time left it cannot know. Once every day is done, the line says what the run
still does rather than going quiet.

Between the first stage's last day and a later stage's first, a range run mostly records: each
day's check results (six a day on the TPC-H bench, 15,162 in all), then the later stages' days.
The line counts the results as they are stored (``checks 5,200/15,162``, counted in the
storage, :mod:`etl.instance.counts`), and from the first one on paces what is left of that
tail by them: check results and later days still to record, at the rate results and days
arrived so far. A fixed share of the extract's time could not fit both benches' tails (0.39
and 0.74 of the extract, two runs of the same history).
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TextIO

import dagster as dg

from etl import naming
from etl.instance.counts import RunEventCounter

POLL_S = 0.5
# Only what the tally reads: a range run's check results and logs are most of its events.
COUNTED = {dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.STEP_FAILURE,
           dg.DagsterEventType.ENGINE_EVENT, dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED}
PLAIN_EVERY_S = 5.0
# A later stage's time per day, as a share of the governing stage's, until it reports its own.
# What followed a range's extract (its checks, the load, recording their results) took 0.40-0.53
# of the extract on the events bench, 0.39-0.74 on TPC-H's and about 1.0 with one pipeline at a
# time (max_parallel: 1, the last pipeline's extract is the stage's pace), runs recorded by hand:
# 0.6 keeps the time left within 2x at the extract's end for tails from 0.3 to 1.2 of it (0.5
# showed 0.46x on the TPC-H bench, 0.37x with max_parallel: 1).
LATER_STAGE_SHARE = {"transfer": 0.5, "load": 0.6}
# What a later stage still shows once it took its expected time, as a share of that time, until
# the tail's own results pace it (:meth:`Pace.follow_tail`): its end and the recording after it.
PAST_EXPECTED = 0.3
# A range's load writes every day in one statement, then reports its days, as fast as they are
# stored: faster than the watcher reads them on a busy instance (a poll took 2 s on the history
# bench). Its days arriving in bulk say its work is done, not how long the rest takes.
LANDS_AT_ONCE = frozenset({"load"})


@dataclass
class Tally:
    """What a run has done so far, from its events."""

    keys: frozenset[dg.AssetKey]
    days: int  # days the run covers (0 for master data)
    done: dict[str | None, set[dg.AssetKey]] = field(default_factory=lambda: defaultdict(set))
    rows: int = 0
    failed: bool = False
    notices: list[str] = field(default_factory=list)  # not yet printed
    checks_planned: int = 0  # the run's checks (each has a result a day)
    checks_done: int | None = 0  # check results stored (counted, not read; None: cannot be)

    @property
    def stages(self) -> list[str]:
        """The run's stages, in the order they run."""
        found = {key.path[1] for key in self.keys if len(key.path) > 1}
        return [s for s in naming.STAGES if s in found]

    @property
    def row_stage(self) -> str:
        """The stage whose rows are counted: the first one the run has (a load_job's load)."""
        return next(iter(self.stages), "extract")

    def record(self, event: dg.EventLogEntry) -> None:
        dagster_event = event.dagster_event
        if dagster_event is None:
            return
        if dagster_event.is_step_failure:
            self.failed = True
        if dagster_event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            self.checks_planned += 1
            return
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

    def begun(self) -> set[str]:
        """Stages with a day of some of their assets: a stage whose pipelines do not all run
        at once has these before its first day."""
        return {key.path[1] for keys in self.done.values() for key in keys if len(key.path) > 1}

    @property
    def counts_checks(self) -> bool:
        """The run has checks and the storage counts their results."""
        return bool(self.checks_planned) and self.checks_done is not None

    @property
    def checks_expected(self) -> int:
        return self.checks_planned * max(self.days, 1)

    def tail_units(self) -> tuple[int, int]:
        """What the run records after its first stage, done and in all: check results, and
        each later stage's days of each of its assets."""
        later = {k for k in self.keys if k.path[1:2] != [self.row_stage]}
        done = sum(len(keys & later) for keys in self.done.values())
        if self.checks_done is None:  # not counted: the days alone
            return done, len(later) * max(self.days, 1)
        return (self.checks_done + done,
                self.checks_expected + len(later) * max(self.days, 1))

    def stage_days(self) -> dict[str, int]:
        """Days done per stage: every asset of that stage has the day."""
        out = {}
        for stage in self.stages:
            wanted = {k for k in self.keys if k.path[1:2] == [stage]}
            out[stage] = sum(1 for keys in self.done.values() if wanted <= keys)
        return out


@dataclass
class Pace:
    """When each stage had its first and its last day, for the time left."""

    started: float
    first: dict[str, tuple[float, int]] = field(default_factory=dict)  # when, and its days
    finished: dict[str, float] = field(default_factory=dict)  # stage -> when it had them all
    per_day: dict[str, float] = field(default_factory=dict)  # a finished stage's seconds a day
    staggered: set[str] = field(default_factory=set)  # some pipelines had days before the stage
    # The tail after the first stage, in what it records (check results and later days):
    units: tuple[int, int] | None = None  # done, in all
    tail_from: int | None = None  # done when the first stage had its last day
    tail_seen: tuple[float, int] | None = None  # the first of it seen after that: when, done

    def update(self, counts: dict[str, int], total: int, now: float,
               begun: set[str] | frozenset[str] = frozenset()) -> None:
        """Take the stages' days (and the stages some of whose pipelines have days) at ``now``."""
        stages = list(counts)
        for index, stage in enumerate(stages):
            if not counts[stage] and stage in begun:
                self.staggered.add(stage)
            if counts[stage]:
                self.first.setdefault(stage, (now, counts[stage]))
            if counts[stage] >= total and stage not in self.finished:
                self.finished[stage] = now
                # A staggered stage's own days, not the others' work before its first one.
                own = (self._pace(stages, index, total, total, now)
                       if stage in self.staggered else None)
                self.per_day[stage] = own or max(now - self._since(stages, index), 0.0) / total

    def follow_tail(self, first_stage: str, units: tuple[int, int], now: float) -> None:
        """Take what the run has recorded after its first stage (done, in all) at ``now``."""
        self.units = units
        if first_stage not in self.finished:
            return
        if self.tail_from is None:
            self.tail_from = units[0]
        elif self.tail_seen is None and units[0] > self.tail_from:
            self.tail_seen = (now, units[0])

    def _tail_left(self, now: float) -> float | None:
        """Seconds left of the tail at the pace its results arrived since the first of them
        (not since the first stage ended: checks are measured before any is recorded), once a
        twentieth of what remained then came."""
        if self.tail_seen is None or self.units is None:
            return None
        seen_at, seen = self.tail_seen
        done, total = self.units
        if done - seen < max(1, (total - seen) // 20) or now <= seen_at:
            return None
        return (now - seen_at) / (done - seen) * max(total - done, 0)

    def _since(self, stages: list[str], index: int) -> float:
        """When a stage began to count: the end of the one before it, or the run's start."""
        if index == 0:
            return self.started
        return self.finished.get(stages[index - 1],
                                 self.first.get(stages[index], (self.started, 0))[0])

    def _pace(self, stages: list[str], index: int, done: int, total: int,
              now: float) -> float | None:
        """Seconds a day of a stage, from its first days seen on (so the run's own start, its
        code location and its planned events, do not count as days' work), once a twentieth
        of the days came since; never slower than its pace since it began.

        Days arrive in batches (the event log writes them a second or a thousand at a time):
        one or two days after a pause would otherwise pace the rest at hours a day, and a
        first batch that came fast, the rest at a fraction of their time.

        A staggered stage (fewer pipelines at once than the step has, ``max_parallel``) shows
        its first day only once the last pipeline has one, after the others' whole work: until
        a twentieth of its days came since, its pace is not known (None; paced since it began,
        it showed 13x the remainder on the TPC-H bench with ``max_parallel: 1``).
        """
        overall = max(now - self._since(stages, index), 1e-9) / done
        seen, days = self.first.get(stages[index], (now, done))
        if done - days >= max(1, total // 20) and now > seen:
            return min((now - seen) / (done - days), overall)
        return None if stages[index] in self.staggered else overall

    def recording(self, counts: dict[str, int], total: int) -> str | None:
        """A stage whose work is written and whose days are being recorded: one that lands at
        once, with some of its days. Its days count once every pipeline has them, so every
        pipeline's statement is done (asking for a twentieth of the days at first sight, a
        TPC-H bench round printed 322x the remainder)."""
        return next((stage for stage, done in counts.items()
                     if stage in LANDS_AT_ONCE and 0 < done < total), None)

    def left(self, counts: dict[str, int], total: int, now: float) -> float | None:
        """Seconds left, paced by the first stage not through every day (None: not known, or
        only the recording of a written stage's days is left)."""
        stages = list(counts)
        open_ = [s for s in stages if counts[s] < total]
        if not open_ or self.recording(counts, total):
            return None
        index = stages.index(open_[0])
        governing, done = stages[index], counts[stages[index]]
        if done:
            paced = self._pace(stages, index, done, total, now)
            if paced is None:
                return None
            per_day = paced
            left = per_day * (total - done)
        elif index and stages[index - 1] in self.per_day:  # a load that lands all at once
            tail = self._tail_left(now)
            if tail is not None:
                return tail
            per_day = self.per_day[stages[index - 1]]
            expected = LATER_STAGE_SHARE.get(governing, 0.5) * per_day * total
            waited = now - self.finished[stages[index - 1]]
            # Past the expectation nothing tells how much is left: PAST_EXPECTED of it. (Taking
            # the stage as half done, as long again as it has taken, showed up to 76x the
            # remainder on the TPC-H bench's last seconds; a tenth of it, 0.36x.)
            left = max(expected - waited, PAST_EXPECTED * expected)
        else:
            return None
        return left + sum(LATER_STAGE_SHARE.get(s, 0.5) * per_day * (total - counts[s])
                          for s in stages[index + 1:])


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
        self._checks: RunEventCounter | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="etl-progress", daemon=True)
        self._started = time.monotonic()
        self.pace = Pace(self._started)
        self._printed = 0.0
        self._final = False

    def start(self, run: dg.DagsterRun) -> None:
        self._run_id = run.run_id
        self._checks = RunEventCounter(self.instance.event_log_storage, run.run_id,
                                       dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        self._started = self._printed = time.monotonic()
        self.pace = Pace(self._started)
        self._thread.start()

    def finish(self, status: str) -> str:
        """Stop watching, read the last events and print the final line."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._poll()
        self._final = True
        line = f"{self.render()} — {status} in {time.monotonic() - self._started:.1f}s"
        self._emit(line, final=True)
        return line

    def render(self) -> str:
        t = self.tally
        now = time.monotonic()
        elapsed = max(now - self._started, 1e-9)
        rate = f"{t.rows:,} rows, {t.rows / elapsed:,.0f} rows/s"
        if not t.days:  # master data: one snapshot
            return f"{self.label}: {'done' if t.days_done else 'running'}, {rate}"
        done = t.days_done
        counts = t.stage_days()
        self.pace.update(counts, t.days, now, t.begun())
        if counts:
            self.pace.follow_tail(t.row_stage, t.tail_units(), now)
        line = f"{self.label}: {done}/{t.days} day(s)"
        if self._final:
            if t.counts_checks:
                rate += f", {t.checks_done:,} check results"
            return f"{line}, {rate}"
        if len(counts) > 1 and done < t.days:
            parts = [f"{s} {n:,}" for s, n in counts.items()]
            if t.counts_checks:
                parts.append(f"checks {t.checks_done:,}/{t.checks_expected:,}")
            line += " (" + ", ".join(parts) + ")"
        line += f", {rate}"
        left = self.pace.left(counts, t.days, now)
        recording = self.pace.recording(counts, t.days)
        if left is not None:
            line += f", ETA {_clock(left)}"
        elif t.failed:
            pass
        elif done >= t.days:
            line += f" — recording {t.days:,} days' results ..."
        elif recording:
            line += (f" — {recording} written, recording its other "
                     f"{t.days - counts[recording]:,} days ...")
        return line

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
                break
        if self._checks is not None and self.tally.checks_planned and self.tally.days:
            self.tally.checks_done = self._checks.update()

    def _emit(self, line: str, final: bool = False) -> None:
        if self.tty:
            end = "\n" if final else ""
            self.out.write(f"\r\033[K{line}{end}")
        else:
            self.out.write(line + "\n")
        self.out.flush()


def _clock(seconds: float) -> str:
    """Whole seconds, rounded up: a run with time left never shows 0:00."""
    minutes, secs = divmod(math.ceil(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
