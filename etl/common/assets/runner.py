"""Run the selected stages of a tenant's pipelines inside one Dagster step.

Each pipeline runs its stages in order (extract, transfer, load) on a worker thread; up to
``source.max_parallel`` pipelines run at once, which also bounds the load on the customer's
database. A failing pipeline does not stop the others: their results are reported, and the
step fails at the end with one message naming every failed tenant/pipeline/stage and cause.
When the run is terminated, queued pipelines are cancelled and running ones stop at their next
stage, so nothing keeps hitting the source after Dagster shows the run as stopped.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dagster as dg

from etl import naming
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.secrets import secret_values
from etl.utils.logging import redact

if TYPE_CHECKING:
    from etl.common.assets.transfer import TransferFunction

Result = dg.MaterializeResult[Any] | dg.AssetCheckResult


class PipelineFailures(RuntimeError):
    """One or more pipelines of a step failed; the message lists each with its cause."""


class Cancelled(RuntimeError):
    """The run was stopped before this pipeline's next stage."""


@dataclass
class StageFailure:
    pipeline: str
    stage: naming.Stage
    error: BaseException


@dataclass
class PipelineRun:
    """What one pipeline produced in this step: results so far, or the stage that failed."""

    results: list[Result] = field(default_factory=list)
    failure: StageFailure | None = None
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StepInputs:
    tenant: str
    partition_key: str | None
    selected: frozenset[dg.AssetKey]
    selected_checks: frozenset[dg.AssetCheckKey]
    source: Any
    storage: Any
    warehouse: Any
    stop: threading.Event = field(default_factory=threading.Event)

    def wants(self, pipeline: PipelineAssetConfig, stage: naming.Stage) -> bool:
        return pipeline.has_stage(stage) and (
            naming.asset_key(self.tenant, stage, pipeline.name) in self.selected
        )

    def wants_check(self, pipeline: PipelineAssetConfig) -> bool:
        key = naming.check_key(self.tenant, "load", pipeline.name, naming.RECONCILE_CHECK)
        return key in self.selected_checks


def run_pipelines(
    inputs: StepInputs,
    pipelines: Sequence[PipelineAssetConfig],
    transfers: Mapping[str, TransferFunction],
    max_parallel: int,
    log: dg.DagsterLogManager,
) -> Iterator[Result]:
    """Yield every result as its pipeline finishes; raise ``PipelineFailures`` at the end."""
    todo = [p for p in pipelines
            if any(inputs.wants(p, s) for s in naming.STAGES) or inputs.wants_check(p)]
    failures: list[StageFailure] = []
    pool = ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(todo))),
                              thread_name_prefix=inputs.tenant)
    try:
        futures: dict[Future[PipelineRun], PipelineAssetConfig] = {
            pool.submit(_run_one, inputs, p, transfers.get(p.name)): p for p in todo
        }
        for future in as_completed(futures):
            run = future.result()
            for line in run.lines:
                log.info(line)
            yield from run.results
            if run.failure is not None:
                failures.append(run.failure)
                log.error(_describe(inputs, run.failure, with_traceback=True))
    finally:
        # Normal end: all done already. Termination (an exception thrown into this generator):
        # stop queued pipelines now and running ones at their next stage; do not wait for them.
        inputs.stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
    if failures:
        listed = "\n".join(f"  - {_describe(inputs, f)}" for f in failures)
        raise PipelineFailures(
            f"{len(failures)} of {len(todo)} pipeline(s) of tenant {inputs.tenant!r} failed "
            f"[{inputs.partition_key or 'latest'}]:\n{listed}"
        )


def _describe(inputs: StepInputs, failure: StageFailure, with_traceback: bool = False) -> str:
    error = failure.error
    text = (
        "".join(traceback.format_exception(error)).rstrip() if with_traceback
        else f"{type(error).__name__}: {error}"
    )
    secrets = secret_values(inputs.source, inputs.storage, inputs.warehouse)
    return f"{failure.stage} of {inputs.tenant}/{failure.pipeline}: " + redact(text, secrets)


def _run_one(
    inputs: StepInputs, pipeline: PipelineAssetConfig, transfer: TransferFunction | None
) -> PipelineRun:
    # The stage modules pull in pyarrow, DuckDB and SQLAlchemy: needed by runs, not by the
    # code location that only lists the assets.
    from etl.common.assets.extract import run_extract
    from etl.common.assets.load import reconcile, run_load
    from etl.common.assets.transfer import run_transfer

    run = PipelineRun()
    tenant, name, part = inputs.tenant, pipeline.name, inputs.partition_key
    label = part or "latest"

    def key(stage: naming.Stage) -> dg.AssetKey:
        return naming.asset_key(tenant, stage, name)

    def begin(stage: naming.Stage) -> naming.Stage:
        if inputs.stop.is_set():
            raise Cancelled(f"run stopped before the {stage} stage")
        return stage

    stage: naming.Stage = "extract"
    try:
        if inputs.wants(pipeline, "extract"):
            stage = begin("extract")
            out = run_extract(tenant, pipeline, inputs.source, inputs.storage, part)
            run.lines.append(f"extract {name} [{label}]: {out.rows} rows in {out.seconds:.2f}s")
            run.results.append(dg.MaterializeResult(asset_key=key("extract"),
                                                    metadata=out.metadata()))
        if inputs.wants(pipeline, "transfer"):
            stage = begin("transfer")
            if transfer is None:
                raise ValueError(f"pipeline {name!r} has a transfer stage but no transfer")
            out = run_transfer(tenant, pipeline, transfer, inputs.storage, part)
            run.lines.append(f"transfer {name} [{label}]: {out.rows} rows in {out.seconds:.2f}s")
            run.results.append(dg.MaterializeResult(asset_key=key("transfer"),
                                                    metadata=out.metadata()))
        if not pipeline.save_to_trino:
            return run
        stage = begin("load")
        warehouse = inputs.warehouse.warehouse()
        if inputs.wants(pipeline, "load"):
            out, recon = run_load(tenant, pipeline, inputs.storage, warehouse, part)
            run.lines.append(f"load {name} [{label}] from {pipeline.load_input_stage}: "
                             f"{out.rows} rows in {out.seconds:.2f}s")
            run.results.append(dg.MaterializeResult(asset_key=key("load"),
                                                    metadata=out.metadata()))
        elif inputs.wants_check(pipeline):
            recon = reconcile(tenant, pipeline, inputs.storage, warehouse, part)
        else:
            return run
        if inputs.wants_check(pipeline):
            run.results.append(dg.AssetCheckResult(
                asset_key=key("load"), check_name=naming.RECONCILE_CHECK, passed=recon.passed,
                description=recon.description,
                metadata={"parquet_rows": recon.expected, "warehouse_rows": recon.actual},
            ))
    except Exception as error:  # reported with the others once every pipeline has finished
        run.failure = StageFailure(name, stage, error)
    return run
