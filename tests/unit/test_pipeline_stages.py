"""A step's pipelines side by side: check-only runs, cancellation, failure isolation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from etl import build_tenant_definitions
from etl.config.tenant_config import PipelineAssetConfig
from etl.naming import RECONCILE_CHECK
from etl.stages.outcome import StageOutcome
from etl.stages.step import StepInputs, run_pipelines
from tests.helpers import DAYS, copy_tenants, run_job, seed_tenant


def test_running_only_the_check_reconciles_without_loading(tmp_path: Path) -> None:
    tenants = copy_tenants(tmp_path, ("default",))
    seed_tenant(tmp_path, "default")
    defs = build_tenant_definitions("default", tenants_dir=tenants)
    instance = dg.DagsterInstance.ephemeral()
    day = DAYS[0].isoformat()
    run_job(defs, "daily_etl_job", day, instance)
    check = dg.AssetCheckKey(dg.AssetKey(["default", "load", "work_order"]), RECONCILE_CHECK)
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection={check})
    result = job.execute_in_process(instance=instance, partition_key=day)
    assert result.get_asset_materialization_events() == []
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.check_name == RECONCILE_CHECK
    assert evaluation.metadata["warehouse_rows"].value == evaluation.metadata[
        "parquet_rows"].value > 0


def _pipeline(name: str) -> PipelineAssetConfig:
    return PipelineAssetConfig(name=name, table=name, date_column="d")


def test_stopping_the_step_cancels_queued_pipelines(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    release = {name: threading.Event() for name in "abc"}

    def slow_extract(tenant: str, pipeline: PipelineAssetConfig, *_: Any,
                     **__: Any) -> Iterator[tuple[str, StageOutcome]]:
        started.append(pipeline.name)
        release[pipeline.name].wait(5)
        yield "2026-03-01", StageOutcome(rows=1, uri="mem", seconds=0.0)

    monkeypatch.setattr("etl.stages.extract.run_extract", slow_extract)
    inputs = StepInputs(
        tenant="t1", days=("2026-03-01",),
        selected=frozenset(dg.AssetKey(["t1", "extract", n]) for n in ("a", "b", "c")),
        selected_checks=frozenset(), source=None, storage=None, warehouse=None,
    )
    log = dg.DagsterLogManager.create(loggers=[])
    steps = run_pipelines(inputs, [_pipeline(n) for n in "abc"], {}, 1, log)
    release["a"].set()
    first = next(steps)
    steps.close()  # what Dagster does to the step when the run is terminated
    for event in release.values():
        event.set()
    time.sleep(0.3)
    assert isinstance(first, dg.AssetMaterialization) and first.partition == "2026-03-01"
    assert inputs.stop.is_set()
    assert "c" not in started  # queued: cancelled; "b" may have begun before the stop
