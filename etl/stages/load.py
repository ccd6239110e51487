"""Load: replace the days (or the master table) in the warehouse, in one load whatever the range.

The days' files become one dataset and one warehouse load; the warehouse then reports its rows
per day, which the row-count check compares with each day's Parquet.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from etl import naming
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.s3 import StorageResource
from etl.stages.inputs import StageFile, StageFiles, stage_files
from etl.stages.outcome import StageOutcome
from etl.utils.validation import Reconciliation
from etl.warehouse.base import LoadRequest, LoadResult, Warehouse


@dataclass(frozen=True)
class LoadOutcome:
    """Per loaded day (or ``None`` for master data): what the warehouse holds, and the check."""

    outcomes: dict[str | None, StageOutcome]
    checks: dict[str | None, Reconciliation]
    missing: StageFiles | None = None  # days without an input file (not loaded)
    statements: int = 0
    extra: dict[str, object] = field(default_factory=dict)


def run_load(
    tenant: str,
    pipeline: PipelineAssetConfig,
    storage: StorageResource,
    warehouse: Warehouse,
    days: Sequence[str] | None,
) -> LoadOutcome:
    started = time.monotonic()
    inputs = _inputs(tenant, pipeline, storage, days)
    data, schema = inputs.dataset(storage)
    loaded = [d for d in inputs.present if d is not None]
    request = LoadRequest(
        table=naming.warehouse_table(pipeline.name),
        days=tuple(loaded) if days is not None else None,
        schema=schema,
        data=data,
        dataset_uri=storage.uri(naming.dataset_path(tenant, pipeline.load_input_stage,
                                                    pipeline.name)),
        mode=pipeline.load_mode,
        schema_drift=pipeline.schema_drift,
        partition_column=pipeline.partition_column,
        local_paths=() if storage.is_s3 else inputs.paths(storage),
        uniform_schema=inputs.uniform_schema,
    )
    result = warehouse.load(request)
    seconds = (time.monotonic() - started) / max(1, len(inputs.present))
    outcomes = {day: _outcome(file, _rows(result, day), seconds, result)
                for day, file in inputs.present.items()}
    checks = {day: Reconciliation(expected=file.rows, actual=_rows(result, day))
              for day, file in inputs.present.items()}
    return LoadOutcome(outcomes, checks, inputs if inputs.missing else None, result.statements)


def reconcile(
    tenant: str,
    pipeline: PipelineAssetConfig,
    storage: StorageResource,
    warehouse: Warehouse,
    days: Sequence[str] | None,
) -> LoadOutcome:
    """Compare the warehouse with the Parquet it was loaded from, without loading anything.

    This is what the row-count check runs when it is executed on its own from the UI.
    """
    inputs = _inputs(tenant, pipeline, storage, days)
    table = naming.warehouse_table(pipeline.name)
    if days is None:
        actual: dict[str | None, int] = {None: warehouse.count_all(table, pipeline.load_mode)}
    else:
        counted = warehouse.count_days(table, [d for d in inputs.present if d is not None],
                                       pipeline.load_mode, pipeline.partition_column)
        actual = dict(counted.items())
    checks = {day: Reconciliation(expected=file.rows, actual=actual.get(day, 0))
              for day, file in inputs.present.items()}
    return LoadOutcome({}, checks, inputs if inputs.missing else None)


def _inputs(tenant: str, pipeline: PipelineAssetConfig, storage: StorageResource,
            days: Sequence[str] | None) -> StageFiles:
    """The files the load reads; none at all is an error naming the stage to run first."""
    inputs = stage_files(storage, tenant, pipeline.load_input_stage, pipeline.name, days,
                         pipeline.partition_column)
    if not inputs.present:
        raise inputs.missing_error()
    return inputs


def _rows(result: LoadResult, day: str | None) -> int:
    return result.rows if day is None else result.rows_by_day.get(day, 0)


def _outcome(file: StageFile, rows: int, seconds: float, result: LoadResult) -> StageOutcome:
    return StageOutcome(
        rows=rows, uri=file.uri, seconds=seconds, schema=file.schema, bytes=file.bytes,
        extra={"added_columns": list(result.added_columns)}, table=result.table,
    )
