"""A runaway transfer is bounded: time, memory and disk limits fail the day naming the limit,
its temporary files stay in a scratch folder that goes with it, and a terminated ``etl run``
stops writing and exits within seconds.

The runaway is the issue's: a cross join that grows without end (here with ``range``), whose
file grew by megabytes a second, ignored SIGTERM and wrote on after Dagster marked the run
failed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest

from etl.cli.main import main
from etl.common.transfer import TransferContext
from etl.config.tenant_config import PipelineAssetConfig
from etl.stages.retries import is_transient
from etl.stages.transfer import run_transfer, sql_transfer
from etl.utils.live_work import LiveWork
from etl.utils.scratch import scratch_root
from tests.helpers import RUNAWAY_SQL, growing_file, runaway_tenant, storage_resource

DAY = "2026-03-01"
NEXT_DAY = "2026-03-02"


def _extracted(tmp_path: Path) -> Any:
    storage = storage_resource(str(tmp_path / "lake"))
    table = pa.table({"id": list(range(200)), "status": ["open"] * 200})
    storage.write(f"t1/extract/p/dt={DAY}/data.parquet", table.to_reader())
    return storage


def _transfer(tmp_path: Path, function: Callable[..., Any], live: LiveWork | None = None,
              **limits: Any) -> tuple[BaseException | None, float]:
    transfer = {"function": "tenant:f", **limits}
    pipeline = PipelineAssetConfig(name="p", table="p", date_column="d", has_transfer=True,
                                   transfer=transfer)
    started = time.monotonic()
    (result,) = run_transfer("t1", pipeline, function, _extracted(tmp_path), [DAY], live)
    return result.error, time.monotonic() - started


def _no_files_left(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    assert list((lake / "t1" / "transfer").rglob("*.parquet")) == []
    assert list((lake / "_staging").glob("*")) == []  # the writer removed its staging file
    assert not list(tmp_path.rglob(".tmp")), "DuckDB spilled into the working directory"
    mine = [p for p in scratch_root().glob("*") if f"~{os.getpid()}~" in p.name]
    assert mine == [], "the transfer's scratch folder was not removed"


def test_a_cross_join_is_stopped_at_transfer_timeout_s(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    error, elapsed = _transfer(tmp_path, sql_transfer(RUNAWAY_SQL), timeout_s=1)
    assert str(error) == f"transfer of t1/p [{DAY}] stopped after 1 s: transfer.timeout_s"
    assert elapsed < 1 + 5, elapsed
    assert not is_transient(error)  # a limit is not retried
    _no_files_left(tmp_path)


def test_python_functions_are_bounded_on_their_connection(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of many short queries is interrupted once the day is past its time."""
    monkeypatch.chdir(tmp_path)
    queries: list[int] = []

    def busy(source: Any, ctx: TransferContext) -> Any:
        while True:  # the loop itself is Python: it ends when a query is interrupted
            queries.append(ctx.connection.sql("SELECT count(*) FROM range(3000000)").fetchone())

    error, elapsed = _transfer(tmp_path, busy, timeout_s=1)
    assert str(error) == f"transfer of t1/p [{DAY}] stopped after 1 s: transfer.timeout_s"
    assert len(queries) > 1 and elapsed < 1 + 5, (len(queries), elapsed)


def test_memory_past_transfer_memory_limit_fails_naming_it(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sql = "SELECT list(r.range) AS all_of_it FROM source, range(1000000) r"
    error, _ = _transfer(tmp_path, sql_transfer(sql), memory_limit="32MB", max_temp_size="64MB")
    assert str(error).startswith(
        f"transfer of t1/p [{DAY}] ran out of memory: transfer.memory_limit (32MB), with up to "
        "transfer.max_temp_size (64MB) spilled to disk; Out of Memory Error"), error
    _no_files_left(tmp_path)


def test_an_output_past_transfer_max_temp_size_fails_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's runaway wrote its file at megabytes a second: the rows handed to the writer
    count against the same disk cap as DuckDB's spills, long before its time is up."""
    monkeypatch.chdir(tmp_path)
    error, elapsed = _transfer(tmp_path, sql_transfer(RUNAWAY_SQL), max_temp_size="8MB",
                               timeout_s=600)
    assert str(error) == (f"transfer of t1/p [{DAY}] wrote more than transfer.max_temp_size "
                          "(8MB) of rows; the file is not kept")
    assert elapsed < 60, elapsed
    assert not is_transient(error)
    _no_files_left(tmp_path)


def test_stopping_the_step_interrupts_the_running_query(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    live = LiveWork()
    timer = __import__("threading").Timer(1.0, live.interrupt)
    timer.start()
    error, elapsed = _transfer(tmp_path, sql_transfer(RUNAWAY_SQL), live, timeout_s=600)
    assert str(error) == f"transfer of t1/p [{DAY}] stopped: the run was terminated"
    assert elapsed < 1 + 5, elapsed
    _no_files_left(tmp_path)


# --- through `etl run` -------------------------------------------------------------------


def test_etl_run_fails_the_day_naming_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in runaway_tenant(tmp_path, (dt.date.fromisoformat(DAY),), timeout_s=2).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "default", "daily_etl_job", "--day", DAY])
    out = capsys.readouterr().out
    assert code == 1, out
    cause = f"transfer of default/work_order [{DAY}] stopped after 2 s: transfer.timeout_s"
    assert re.search(r"FAILED in [0-9.]+s\n(.*\n)*  .*" + re.escape(cause), out), out
    lake = tmp_path / ".etl" / "lake"
    assert list((lake / "default" / "transfer" / "work_order").rglob("*.parquet")) == []
    assert list((lake / "_staging").glob("*")) == []
    assert not list(tmp_path.rglob(".tmp"))


@pytest.mark.parametrize("command", [
    ("run", "default", "transfer_job", "--day", DAY),
    ("backfill", "default", "--from", DAY, "--to", NEXT_DAY, "--stage", "transfer",
     "--days-per-run", "1"),
], ids=["run", "backfill"])
def test_etl_stops_writing_and_exits_within_5_s_of_sigterm(
        command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The transfer is interrupted, its file discarded, the run failed, and a backfill does
    not go on to its next run."""
    days = (dt.date.fromisoformat(DAY), dt.date.fromisoformat(NEXT_DAY))
    env = runaway_tenant(tmp_path, days, timeout_s=600)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    assert main(["backfill", "default", "--from", DAY, "--to", NEXT_DAY, "--stage",
                 "extract"]) == 0, capsys.readouterr().err
    staging = tmp_path / ".etl" / "lake" / "_staging"
    proc = subprocess.Popen([sys.executable, "-m", "etl.cli", *command], cwd=tmp_path,
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        growing = growing_file(staging, proc, timeout=120)
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        out, _ = proc.communicate(timeout=60)
        exited = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
    print(f"etl {command[0]} exited {exited:.2f} s after SIGTERM")
    text = out.decode(errors="replace")
    assert exited < 5, (exited, text)
    assert proc.returncode == 130 and "stopped: run " in text, text
    assert not growing.exists()  # the staging file was removed, not left to grow
    assert list((tmp_path / ".etl/lake/default/transfer/work_order").rglob("*.parquet")) == []
    with dg.DagsterInstance.get() as instance:
        (run,) = [r for r in instance.get_runs() if r.job_name == "transfer_job"]
        assert run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
