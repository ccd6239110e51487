"""Run the selected stages of a tenant's pipelines inside one Dagster step.

Each pipeline runs its stages in order (extract, transfer, load) on a worker thread; up to
``source.max_parallel`` pipelines run at once, which also bounds the load on the customer's
database. A failing pipeline does not stop the others: their results are reported, and the
step fails at the end with one message naming every failed tenant/pipeline/stage and cause.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import dagster as dg

from etl import naming
from etl.config.tenant_config import PipelineAssetConfig
from etl.utils.logging import redact

if TYPE_CHECKING:
    from etl.common.assets.transfer import TransferFunction

RECONCILE_CHECK = "row_count_matches_parquet"
Result = dg.MaterializeResult[Any] | dg.AssetCheckResult


class PipelineFailures(RuntimeError):
    """One or more pipelines of a step failed; the message lists each with its cause."""


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


def run_pipelines(
    inputs: StepInputs,
    pipelines: Sequence[PipelineAssetConfig],
    transfers: Mapping[str, TransferFunction],
    max_parallel: int,
    log: dg.DagsterLogManager,
) -> Iterator[Result]:
    """Yield every result as its pipeline finishes; raise ``PipelineFailures`` at the end."""
    todo = [p for p in pipelines if any(
        naming.asset_key(inputs.tenant, stage, p.name) in inputs.selected for stage in naming.STAGES
    )]
    failures: list[StageFailure] = []
    workers = max(1, min(max_parallel, len(todo)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=inputs.tenant) as pool:
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
                log.error(_describe(inputs, run.failure))
    if failures:
        listed = "\n".join(f"  - {_describe(inputs, f)}" for f in failures)
        raise PipelineFailures(
            f"{len(failures)} of {len(todo)} pipeline(s) of tenant {inputs.tenant!r} failed "
            f"[{inputs.partition_key or 'latest'}]:\n{listed}"
        )


def _describe(inputs: StepInputs, failure: StageFailure) -> str:
    cause = redact(f"{type(failure.error).__name__}: {failure.error}", _secrets(inputs))
    return f"{failure.stage} of {inputs.tenant}/{failure.pipeline}: {cause}"


SECRET_FIELDS = ("password", "secret_key", "access_key", "jwt")


def _secrets(inputs: StepInputs) -> list[str | None]:
    """Every secret the step's resources hold, so an error echoing one can be masked."""
    resources = [inputs.source, inputs.storage, inputs.warehouse]
    resources += [r.trino for r in resources if getattr(r, "trino", None) is not None]
    found = [getattr(r, name, None) for r in resources for name in SECRET_FIELDS]
    url = getattr(inputs.source, "url", None)  # may come whole from `url_env`, password included
    return [*found, urlsplit(url).password if isinstance(url, str) else None]


def _run_one(
    inputs: StepInputs, pipeline: PipelineAssetConfig, transfer: TransferFunction | None
) -> PipelineRun:
    # The stage modules pull in pyarrow, DuckDB and SQLAlchemy: needed by runs, not by the
    # code location that only lists the assets.
    from etl.common.assets.extract import run_extract
    from etl.common.assets.load import load_input_stage, run_load
    from etl.common.assets.transfer import run_transfer

    run = PipelineRun()
    tenant, name, part = inputs.tenant, pipeline.name, inputs.partition_key
    label = part or "latest"

    def key(stage: naming.Stage) -> dg.AssetKey:
        return naming.asset_key(tenant, stage, name)

    stage: naming.Stage = "extract"
    try:
        if key("extract") in inputs.selected:
            out = run_extract(tenant, pipeline, inputs.source, inputs.storage, part)
            run.lines.append(f"extract {name} [{label}]: {out.rows} rows in {out.seconds:.2f}s")
            run.results.append(dg.MaterializeResult(asset_key=key("extract"),
                                                    metadata=out.metadata()))
        stage = "transfer"
        if pipeline.has_transfer and key("transfer") in inputs.selected:
            assert transfer is not None
            out = run_transfer(tenant, pipeline, transfer, inputs.storage, part)
            run.lines.append(f"transfer {name} [{label}]: {out.rows} rows in {out.seconds:.2f}s")
            run.results.append(dg.MaterializeResult(asset_key=key("transfer"),
                                                    metadata=out.metadata()))
        stage = "load"
        if pipeline.save_to_trino and key("load") in inputs.selected:
            out, recon = run_load(tenant, pipeline, inputs.storage, inputs.warehouse, part)
            run.lines.append(f"load {name} [{label}] from {load_input_stage(pipeline)}: "
                             f"{out.rows} rows in {out.seconds:.2f}s")
            run.results.append(dg.MaterializeResult(asset_key=key("load"),
                                                    metadata=out.metadata()))
            if dg.AssetCheckKey(key("load"), RECONCILE_CHECK) in inputs.selected_checks:
                run.results.append(dg.AssetCheckResult(
                    asset_key=key("load"), check_name=RECONCILE_CHECK, passed=recon.passed,
                    description=recon.description,
                    metadata={"parquet_rows": recon.expected, "warehouse_rows": recon.actual},
                ))
    except Exception as error:  # reported with the others once every pipeline has finished
        run.failure = StageFailure(name, stage, error)
    return run
