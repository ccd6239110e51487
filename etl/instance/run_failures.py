"""Why a run failed, from its recorded step failures.

Its own module, importing only Dagster, because the failure alerts of every tenant's code
location read it as well as the console: it must not pull in the run planning above it.
"""

from __future__ import annotations

import dagster as dg


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
