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


def was_interrupted(inst: dg.DagsterInstance, run_id: str) -> bool:
    """Whether the run failed because its process was told to stop."""
    records = inst.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    for record in records:
        event = record.event_log_entry.dagster_event
        error = event.step_failure_data.error if event is not None else None
        while error is not None:
            if error.cls_name == _INTERRUPTED:
                return True
            error = error.cause
    return False


_INTERRUPTED = "DagsterExecutionInterruptedError"


def failure_causes(inst: dg.DagsterInstance, run_id: str) -> list[str]:
    """The messages of a run's failed steps (the pipelines' own errors, not Dagster's frame)."""
    causes = []
    records = inst.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    for record in records:
        event = record.event_log_entry.dagster_event
        error = event.step_failure_data.error if event is not None else None
        cause = error.cause if error is not None and error.cause else error
        if cause is not None:
            causes.append(_without_class(cause.message.strip()))
    return causes


def _without_class(message: str) -> str:
    """``etl.stages.step.PipelineFailures: 1 of 3 ...`` as ``1 of 3 ...``: the class of one of
    our own errors says nothing its message does not."""
    name, sep, rest = message.partition(": ")
    return rest if sep and name.startswith("etl.") and " " not in name else message


def span(days: Sequence[str] | None) -> str:
    if not days:
        return "latest"
    return days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
