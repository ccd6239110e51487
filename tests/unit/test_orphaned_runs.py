"""A run whose ``etl`` process was killed with ``kill -9`` does not stay STARTED: the next
``etl`` command on the same home fails it, saying why; runs of live processes, of other hosts
and of the daemon are left alone."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test

from etl import naming
from etl.cli.main import main
from etl.runs.orphans import executor_tags, fail_orphaned_runs
from etl.utils.scratch import scratch_root, sweep
from tests.helpers import growing_file, runaway_tenant

DAY = "2026-03-01"


def test_the_next_command_fails_the_run_of_a_killed_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    env = runaway_tenant(tmp_path, (dt.date.fromisoformat(DAY),), timeout_s=600)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "default", "extract_job", "--day", DAY]) == 0, capsys.readouterr().err
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl.cli", "run", "default", "transfer_job", "--day", DAY],
        cwd=tmp_path, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        growing_file(tmp_path / ".etl/lake/_staging", proc, timeout=120)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    with dg.DagsterInstance.get() as instance:
        (killed,) = [r for r in instance.get_runs() if r.job_name == "transfer_job"]
        assert killed.status == dg.DagsterRunStatus.STARTED  # nothing recorded its end
    capsys.readouterr()

    assert main(["run", "default", "extract_job", "--day", DAY]) == 0
    out = capsys.readouterr().err
    assert (f"marked run {killed.run_id} (transfer_job of tenant default) failed: the process "
            f"that executed it (pid {proc.pid}) is gone") in out, out
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(killed.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
        (failure,) = instance.get_records_for_run(
            killed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        message = failure.event_log_entry.dagster_event.message  # type: ignore[union-attr]
        assert f"pid {proc.pid}" in message and "kill -9" in message, message
        assert fail_orphaned_runs(instance) == []  # once only
    # The killed transfer's scratch folder goes with the next sweep.
    dead = [p for p in scratch_root().glob("*") if f"~{proc.pid}~" in p.name]
    assert dead and all(p in sweep(scratch_root()) for p in dead)


def test_runs_of_live_processes_other_hosts_and_the_daemon_are_left_alone(
        tmp_path: Path) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        def started(tags: dict[str, str]) -> str:
            run = create_run_for_test(instance, job_name="j", status=dg.DagsterRunStatus.STARTED)
            instance.add_run_tags(run.run_id, tags or {"any": "tag"})
            return run.run_id

        mine = started({})
        instance.add_run_tags(mine, executor_tags(mine))  # this process: alive
        elsewhere = started({naming.EXECUTED_ON_TAG: "another-host",
                             naming.EXECUTED_BY_TAG: "1 - x"})
        daemon = started({})  # no executor tags: run monitoring's
        copied = started({})  # a re-execution that copied a dead parent's tags
        instance.add_run_tags(copied, {naming.EXECUTED_ON_TAG: socket.gethostname(),
                                       naming.EXECUTED_BY_TAG: "999999999 - parent-run-id"})
        dead = started({})
        instance.add_run_tags(dead, {naming.EXECUTED_ON_TAG: socket.gethostname(),
                                     naming.EXECUTED_BY_TAG: f"999999999 - {dead}"})
        assert fail_orphaned_runs(instance) == [dead]
        for run_id in (mine, elsewhere, daemon, copied):
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.status == dg.DagsterRunStatus.STARTED
