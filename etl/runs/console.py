"""Running a planned request here, with its progress and, if it fails, its causes.

Dagster turns Ctrl-C or SIGTERM during a run into that run's failure and returns; the command
must not go on to its next run (a backfill of several runs), so a run failed by an interrupt
raises :class:`~etl.errors.Interrupted`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

import dagster as dg

from etl.errors import Interrupted
from etl.instance.run_failures import failure_causes, was_interrupted
from etl.runs.launch import RunRequest, create_run
from etl.runs.launch import execute as execute_run
from etl.runs.plan import TenantJobs, run_assets
from etl.runs.progress import RunWatcher


def execute(inst: dg.DagsterInstance, jobs: TenantJobs, request: RunRequest, out: TextIO,
            indent: str = "") -> bool:
    """Run one request here with a progress display; prints the cause if it fails."""
    label = f"{indent}{jobs.tenant} {request.job} [{span(request.days)}]"
    watcher = RunWatcher(inst, label, run_assets(jobs, request), len(request.days or ()), out)
    run = create_run(inst, request)
    out.write(f"{label}: run {run.run_id}\n")
    finished = execute_run(inst, run, on_start=watcher.start)
    ok = finished.status == dg.DagsterRunStatus.SUCCESS
    watcher.finish("ok" if ok else "FAILED")
    if not ok:
        out.writelines(f"{indent}  {line}\n" for cause in failure_causes(inst, run.run_id)
                       for line in cause.splitlines())
    out.flush()
    if not ok and was_interrupted(inst, run.run_id):
        raise Interrupted(f"run {run.run_id} ({jobs.tenant} {request.job}) was interrupted; no "
                          "further run is started")
    return ok


def span(days: Sequence[str] | None) -> str:
    if not days:
        return "latest"
    return days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
