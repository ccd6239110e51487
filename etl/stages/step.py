"""Run the selected stages of a tenant's pipelines inside one Dagster step.

Each pipeline runs its stages in order (extract, transfer, load) on a worker thread; up to
``source.max_parallel`` pipelines run at once, which also bounds the load on the customer's
database. A step covers one day, a range of days, or master data. Every stage reports each
day's materialization (and the load each day's row-count check) the moment that stage has
finished it, so the event log and the asset pages show per-stage, per-day results while the
step is still running. After the last Parquet stage come the quality checks
(:mod:`etl.stages.quality`): a day whose blocking check failed is not loaded.

A failing pipeline does not stop the others, and a failing day does not stop the other days of
a pipeline's stage: a day whose stage failed is not taken further, the rest are. The step fails
at the end with one message naming every failed tenant/pipeline/stage, its days and cause.
When the run is terminated, queued pipelines are cancelled, the work running now (source reads,
transfers' DuckDB queries) is interrupted (:mod:`etl.utils.live_work`) and running pipelines
stop before their next stage or day, so nothing keeps hitting the source or writing after
Dagster shows the run as stopped.
"""

from __future__ import annotations

import atexit
import queue
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from etl import naming
from etl.checks.planned import planned_checks
from etl.config.tenant_config import PipelineAssetConfig
from etl.stages.events import IDLE, Idle, StepEvent
from etl.stages.pipeline_stages import Emitted, Notice, PipelineStages, StageFailure
from etl.stages.step_inputs import StepInputs
from etl.utils.logging import redact
from etl.utils.secrets import secret_values

if TYPE_CHECKING:
    from etl.common.transfer import TransferFunction

__all__ = ["PipelineFailures", "StageFailure", "StepInputs", "run_pipelines"]


class PipelineFailures(RuntimeError):
    """One or more pipelines of a step failed; the message lists each with its cause."""


@dataclass(frozen=True)
class _Done:
    failures: list[StageFailure]


_RUNNING: dict[int, Callable[[], None]] = {}
"""How to stop each step running in this process."""


def _stop_running_steps() -> None:
    """Stop the steps still running when the process exits, before their threads are joined.

    A terminated run (SIGTERM, Ctrl-C) is failed by Dagster, which may abandon the step's
    generator without closing it; the pool's threads would then keep reading and writing,
    and Python waits for them before it exits.
    """
    for stop in list(_RUNNING.values()):
        stop()


# Called before the interpreter joins non-daemon threads, in the reverse order of
# registration: after this module's import of the thread pool, so before it joins its workers.
getattr(threading, "_register_atexit", atexit.register)(_stop_running_steps)


def run_pipelines(
    inputs: StepInputs,
    pipelines: Sequence[PipelineAssetConfig],
    transfers: Mapping[str, TransferFunction],
    max_parallel: int,
    log: dg.DagsterLogManager,
    notify: Callable[[str], None] | None = None,
    idle_s: float | None = None,
) -> Iterator[StepEvent | Idle]:
    """Yield every event as a stage produces it; raise ``PipelineFailures`` at the end.

    ``notify`` receives the lines meant for whoever watches the run (retries); without it
    they go to the log. With ``idle_s``, :data:`IDLE` is yielded whenever no event came for
    that long.
    """
    todo = [p for p in pipelines
            if any(inputs.wants(p, s) for s in naming.STAGES) or inputs.wants_check(p)
            or inputs.wants_source_check(p)
            or any(inputs.wants_quality(p, c.name) for c in planned_checks(p))]
    events: queue.Queue[Emitted | _Done] = queue.Queue()
    failures: list[StageFailure] = []
    pool = ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(todo))),
                              thread_name_prefix=inputs.tenant)

    def stop() -> None:
        inputs.stop.set()
        inputs.live.interrupt()
        pool.shutdown(wait=False, cancel_futures=True)

    _RUNNING[id(stop)] = stop
    try:
        for p in todo:
            pool.submit(_run_guarded, inputs, p, transfers.get(p.name), events.put)
        running = len(todo)
        while running:
            try:
                item = events.get(timeout=idle_s)
            except queue.Empty:
                yield IDLE
                continue
            if isinstance(item, _Done):
                running -= 1
                for failure in item.failures:
                    failures.append(failure)
                    log.error(_describe(inputs, failure, with_traceback=True))
            elif isinstance(item, str):
                log.info(item)
            elif isinstance(item, Notice):
                (notify or log.info)(item.text)
            else:
                yield item
    finally:
        # Normal end: all done already. Termination (an exception thrown into this generator):
        # stop queued pipelines now, interrupt what runs and stop the rest at their next stage.
        _RUNNING.pop(id(stop), None)
        stop()
    if failures:
        listed = "\n".join(f"  - {_describe(inputs, f)}" for f in failures)
        failed = len({f.pipeline for f in failures})
        raise PipelineFailures(
            f"{failed} of {len(todo)} pipeline(s) of tenant {inputs.tenant!r} failed "
            f"[{inputs.label}]:\n{listed}"
        )


def _describe(inputs: StepInputs, failure: StageFailure, with_traceback: bool = False) -> str:
    error = failure.error
    text = (
        "".join(traceback.format_exception(error)).rstrip() if with_traceback
        else f"{type(error).__name__}: {error}"
    )
    secrets = secret_values(inputs.source, inputs.storage, inputs.warehouse)
    days = f" [{_span(failure.days)}]" if failure.days else ""
    return f"{failure.stage} of {inputs.tenant}/{failure.pipeline}{days}: " + redact(text, secrets)


def _span(days: Sequence[str]) -> str:
    if len(days) == 1:
        return days[0]
    return f"{len(days)} days: {days[0]}..{days[-1]}"


def _run_guarded(inputs: StepInputs, pipeline: PipelineAssetConfig,
                 transfer: TransferFunction | None,
                 emit: Callable[[Emitted | _Done], None]) -> None:
    failures: list[StageFailure] = []
    try:
        PipelineStages(inputs, pipeline, transfer, emit, failures).run()
    except BaseException as error:  # reported with the others once every pipeline has finished
        failures.append(StageFailure(pipeline.name, "extract", error))
    finally:
        emit(_Done(failures))


