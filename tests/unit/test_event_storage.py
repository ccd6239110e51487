"""The batching SQLite event log writes what Dagster's own writes, and never loses an event to
an error, a read, a fork or the passing of time (a killed process: at most ``buffer_max_ms``).

The PostgreSQL twin of the row-for-row test is ``tests/integration/test_event_storage_postgres``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from etl.instance.buffer import BUFFERED
from etl.instance.private import SqliteEventLogStorage
from etl.instance.storage import BatchingSqliteEventLogStorage
from tests.event_storage import (
    assert_counts_as_stored,
    differences,
    dump_sqlite,
    recorded_events,
    replay,
)

Kind = dg.DagsterEventType


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[dg.EventLogEntry]:
    return recorded_events(tmp_path_factory.mktemp("source") / "home")


def batching(base: Path, **options: Any) -> BatchingSqliteEventLogStorage:
    return BatchingSqliteEventLogStorage(str(base), **options)


@pytest.mark.parametrize("max_events", [1000, 7, 1])
def test_the_same_rows_as_dagsters_own_storage(events: list[dg.EventLogEntry], tmp_path: Path,
                                               max_events: int) -> None:
    assert {e.dagster_event_type for e in events} >= BUFFERED
    replay(SqliteEventLogStorage(str(tmp_path / "stock")), events)
    storage = batching(tmp_path / "batched", buffer_max_events=max_events, buffer_max_ms=0)
    replay(storage, events)
    buffered = sum(1 for e in events if storage.buffers(e))
    assert storage.written["events"] == buffered
    stock, batched = dump_sqlite(tmp_path / "stock"), dump_sqlite(tmp_path / "batched")
    assert len(stock["index.db:asset_check_executions"]) > 20
    assert differences(stock, batched) == []


def test_a_runs_check_results_are_counted_as_stored(events: list[dg.EventLogEntry],
                                                     tmp_path: Path) -> None:
    assert_counts_as_stored(batching(tmp_path / "batched", buffer_max_events=7,
                                     buffer_max_ms=0), events)
    assert_counts_as_stored(SqliteEventLogStorage(str(tmp_path / "stock")), events)


def run_events(events: list[dg.EventLogEntry], kind: Kind) -> list[dg.EventLogEntry]:
    first = events[0].run_id
    return [e for e in events if e.run_id == first and e.dagster_event_type == kind]


def test_a_read_and_any_other_event_write_the_buffer_first(
        events: list[dg.EventLogEntry], tmp_path: Path) -> None:
    storage = batching(tmp_path, buffer_max_ms=0)
    mats = run_events(events, Kind.ASSET_MATERIALIZATION)[:5]
    run_id = mats[0].run_id
    for event in mats:
        storage.store_event(event)
    assert storage.buffered_events() == 5
    other = batching(tmp_path)  # another process's view: nothing yet
    assert other.get_records_for_run(run_id).records == []
    found = storage.get_records_for_run(run_id).records  # a read here: written first
    assert len(found) == 5 and storage.buffered_events() == 0
    storage.store_event(mats[0])
    (step_end,) = run_events(events, Kind.STEP_SUCCESS)
    storage.store_event(step_end)  # not buffered: written after the buffer, under its lock
    kinds = [r.event_log_entry.dagster_event_type for r in
             other.get_records_for_run(run_id).records]
    assert kinds == [Kind.ASSET_MATERIALIZATION] * 6 + [Kind.STEP_SUCCESS]
    storage.dispose()
    other.dispose()


def test_a_read_waits_for_a_batch_another_thread_is_writing(
        events: list[dg.EventLogEntry], tmp_path: Path) -> None:
    """The timer thread takes the buffer and writes it; a read on another thread meanwhile
    finds the buffer empty, yet must see those events (a step looks up the materialization it
    has just reported): it waits for the write to end."""
    import threading

    entered, gate = threading.Event(), threading.Event()

    class SlowDisk(BatchingSqliteEventLogStorage):
        def _write_batch(self, batch: list[dg.EventLogEntry]) -> None:
            entered.set()
            assert gate.wait(10)
            super()._write_batch(batch)

    storage = SlowDisk(str(tmp_path), buffer_max_ms=50)
    mats = run_events(events, Kind.ASSET_MATERIALIZATION)[:3]
    for event in mats:
        storage.store_event(event)
    assert entered.wait(10)  # the timer took the three and is writing them
    assert storage.buffered_events() == 0
    found: list[int] = []
    reader = threading.Thread(target=lambda: found.append(
        len(storage.get_records_for_run(mats[0].run_id).records)))
    reader.start()
    time.sleep(0.2)
    assert reader.is_alive() and not found  # waiting for the write
    gate.set()
    reader.join(10)
    assert found == [3]
    storage.dispose()


def test_the_oldest_buffered_event_is_written_within_buffer_max_ms(
        events: list[dg.EventLogEntry], tmp_path: Path) -> None:
    storage = batching(tmp_path, buffer_max_ms=200)
    other = batching(tmp_path)
    mats = run_events(events, Kind.ASSET_MATERIALIZATION)[:3]
    for event in mats:
        storage.store_event(event)
    time.sleep(0.6)
    assert len(other.get_records_for_run(mats[0].run_id).records) == 3
    storage.store_event(mats[0])  # a new burst starts its own timer
    time.sleep(0.6)
    assert len(other.get_records_for_run(mats[0].run_id).records) == 4
    storage.dispose()
    other.dispose()


def test_a_failed_batch_is_written_one_by_one_and_a_failed_index_retried(
        events: list[dg.EventLogEntry], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    first = events[0].run_id
    sample = [e for e in events if e.run_id == first][:60]
    replay(SqliteEventLogStorage(str(tmp_path / "stock")), sample)
    broken = batching(tmp_path / "fallback", buffer_max_ms=0)

    def fail(batch: list[dg.EventLogEntry]) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(broken, "_write_batch", fail)
    replay(broken, sample)
    assert "writing them one by one" in capsys.readouterr().err
    flaky = batching(tmp_path / "retried", buffer_max_ms=0)
    calls = {"n": 0}
    index = flaky._upsert_asset_key

    def once(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("index busy")
        index(*args)

    monkeypatch.setattr(flaky, "_upsert_asset_key", once)
    replay(flaky, sample)
    assert "retrying once" in capsys.readouterr().err
    stock = dump_sqlite(tmp_path / "stock")
    assert differences(stock, dump_sqlite(tmp_path / "fallback")) == []
    assert differences(stock, dump_sqlite(tmp_path / "retried")) == []


def test_a_timed_write_that_fails_fails_the_next_event(
        events: list[dg.EventLogEntry], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = batching(tmp_path, buffer_max_ms=50)
    mats = run_events(events, Kind.ASSET_MATERIALIZATION)
    monkeypatch.setattr(storage, "_write_segments", _raise)
    storage.store_event(mats[0])
    time.sleep(0.4)
    (step_end,) = run_events(events, Kind.STEP_SUCCESS)
    with pytest.raises(RuntimeError, match="could not be stored"):
        storage.store_event(step_end)  # no success stored after a loss


def _raise(batch: object) -> None:
    raise OSError("gone")


def test_a_forked_child_leaves_the_parents_buffer_to_the_parent(
        events: list[dg.EventLogEntry], tmp_path: Path) -> None:
    storage = batching(tmp_path, buffer_max_ms=0)
    mats = run_events(events, Kind.ASSET_MATERIALIZATION)[:4]
    for event in mats:
        storage.store_event(event)
    pid = os.fork()
    if pid == 0:  # the child: its copy of the buffer is dropped, never written
        code = 0 if storage.buffered_events() == 0 else 1
        storage.flush_buffer()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    storage.flush_buffer()
    assert len(storage.get_records_for_run(mats[0].run_id).records) == 4
    storage.dispose()


KILLED = """
import sys, time, pickle
from etl.instance.storage import BatchingSqliteEventLogStorage
events = pickle.load(open(sys.argv[2], "rb"))
storage = BatchingSqliteEventLogStorage(sys.argv[1], buffer_max_ms=int(sys.argv[3]))
for event in events:
    storage.store_event(event)
print("stored", flush=True)
time.sleep(600)
"""


@pytest.fixture
def killed_after(tmp_path: Path, events: list[dg.EventLogEntry]) -> Iterator[Any]:
    import pickle

    mats = run_events(events, Kind.ASSET_MATERIALIZATION)
    (tmp_path / "events.pickle").write_bytes(pickle.dumps(mats))

    def run(max_ms: int, wait_s: float) -> int:
        base = tmp_path / f"killed_{max_ms}"
        child = subprocess.Popen([sys.executable, "-c", KILLED, str(base),
                                  str(tmp_path / "events.pickle"), str(max_ms)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "stored"
        time.sleep(wait_s)
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader = batching(base)
        found = len(reader.get_records_for_run(mats[0].run_id).records)
        reader.dispose()
        return found

    yield run, len(mats)


def test_a_killed_process_loses_at_most_buffer_max_ms_of_events(killed_after: Any) -> None:
    run, total = killed_after
    assert run(300, 1.5) == total  # the timer wrote them before the kill
    assert run(60_000, 0.5) == 0  # killed within buffer_max_ms: those are lost
