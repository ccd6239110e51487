"""Incremental pipelines (``mode: incremental``): the changed rows, merged into the warehouse.

Each run reads the rows whose ``cursor_column`` is at or after the last high-water mark minus
``lag`` (:mod:`etl.sources.cursor`) into a change file of its own,
``<tenant>/extract/<name>/changes/run=<run id>/data.parquet``, and merges it by
``primary_key`` (the warehouse kind's ``merge``). The new mark is the largest cursor among the
rows read, kept in the metadata of the pipeline's last stage: a run that fails before that
stage's materialization leaves the old mark, so the next run reads the same changes again and
the merge by key makes that harmless.

The first run, a run after ``cursor_column`` changed, and a run tagged ``etl/full_refresh``
read the whole table (``latest/data.parquet``) and replace the table's rows. With ``deletes``,
every ``deletes.every_runs``-th run first reads the source's keys (a key-only read, its own
file ``keys/run=<run id>/``) and the warehouse deletes, or marks with ``deleted_at``, the rows
whose key is gone, before merging the changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from etl import naming
from etl.checks.planned import planned_checks
from etl.config.incremental import lag_seconds
from etl.config.tenant_config import PipelineAssetConfig
from etl.sources.base import ExtractRequest
from etl.sources.cursor import CursorFilter, HighWater, mark_text
from etl.stages.events import StepEvent, check_evaluation, materialization
from etl.stages.inputs import StageFile, stage_file
from etl.stages.outcome import StageOutcome
from etl.stages.step_inputs import StepInputs
from etl.warehouse.base import LakeFile, MergeRequest

Emit = Callable[[StepEvent | str], None]
CURSOR: str = "cursor_column"


class IncrementalFailure(RuntimeError):
    """An incremental run's stage failed; ``stage`` says which."""

    def __init__(self, stage: naming.Stage, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.stage: naming.Stage = stage
        self.error = error


@dataclass(frozen=True)
class State:
    """Where the last complete run left the pipeline."""

    mark: str | None  # the high-water mark (None: read the whole table)
    runs_since_key_scan: int = 0


def last_state(inputs: StepInputs, pipeline: PipelineAssetConfig) -> State:
    stage: naming.Stage = "load" if pipeline.save_to_trino else "extract"
    key = naming.asset_key(inputs.tenant, stage, pipeline.name)
    records = inputs.instance.fetch_materializations(key, limit=1).records
    event = records[0].asset_materialization if records else None
    meta = event.metadata if event is not None else {}
    mark = _value(meta.get(naming.HIGH_WATER_MARK))
    if mark is None or _value(meta.get(CURSOR)) != pipeline.cursor_column:
        return State(None)
    return State(str(mark), int(_value(meta.get(naming.RUNS_SINCE_KEY_SCAN)) or 0))


def run_incremental(inputs: StepInputs, pipeline: PipelineAssetConfig, emit: Emit) -> None:
    state = last_state(inputs, pipeline)
    full = state.mark is None or inputs.tags.get(naming.FULL_REFRESH_TAG) == "true"
    loading = pipeline.save_to_trino and inputs.wants(pipeline, "load")
    scan = (loading and not full and pipeline.deletes.mode != "off"
            and state.runs_since_key_scan + 1 >= pipeline.deletes.every_runs)
    try:
        keys = _read_keys(inputs, pipeline) if scan else None  # before the changes: see merge
        rows, mark, seconds = _read_rows(inputs, pipeline, None if full else state.mark)
    except Exception as error:
        raise IncrementalFailure("extract", error) from error
    new_mark = mark if mark is not None else state.mark
    about = {CURSOR: pipeline.cursor_column, naming.HIGH_WATER_MARK: new_mark,
             "read": "full" if full else f"{pipeline.cursor_column} >= {state.mark} - lag"}
    extract = StageOutcome(rows=rows.rows, uri=rows.uri, seconds=seconds, schema=rows.schema,
                           bytes=rows.bytes, extra={**about, "source_keys": keys.rows if keys
                                                    else None})
    emit(materialization(naming.asset_key(inputs.tenant, "extract", pipeline.name), None,
                         extract))
    emit(f"extract {pipeline.name}: {rows.rows:,} {'rows (full read)' if full else 'changed rows'}"
         f"{f', {keys.rows:,} source keys' if keys else ''}; high-water mark {new_mark}")
    _check_rows(inputs, pipeline, rows, emit)
    if not loading:
        return
    try:
        _merge(inputs, pipeline, rows, keys, full, state, scan, about, emit)
    except Exception as error:
        raise IncrementalFailure("load", error) from error


def _read_rows(inputs: StepInputs, pipeline: PipelineAssetConfig, mark: str | None
               ) -> tuple[StageFile, str | None, float]:
    """The changed rows (or the whole table) into this run's file; the largest cursor read."""
    started = time.monotonic()
    source = inputs.source
    row_filter = None
    if mark is not None:
        row_filter = CursorFilter(pipeline.cursor_column or "", mark, lag_seconds(pipeline.lag),
                                  isinstance(pipeline.lag, str))
    request = ExtractRequest(
        table=pipeline.table, query=pipeline.query, columns=pipeline.columns,
        row_filter=row_filter, batch_size=pipeline.batch_size or source.batch_size,
        db_schema=source.db_schema, statement_timeout_s=source.statement_timeout_s,
        read_timeout_s=source.read_timeout_s, column_types=pipeline.column_types)
    relative = (naming.data_file_path(inputs.tenant, "extract", pipeline.name, None)
                if mark is None else
                naming.change_file_path(inputs.tenant, pipeline.name, inputs.run_id))
    high = HighWater(pipeline.cursor_column or "")
    with source.read(request, inputs.live) as reader:
        inputs.storage.write(relative, high.watch(reader))
    written = stage_file(inputs.storage, relative)
    if written is None:
        raise FileNotFoundError(f"the file just written is missing: {relative}")
    found = mark_text(high.value) if high.value is not None else None
    return written, found, time.monotonic() - started


def _read_keys(inputs: StepInputs, pipeline: PipelineAssetConfig) -> StageFile:
    """Every key at the source (a key-only read) into this run's keys file."""
    source = inputs.source
    key = ", ".join(pipeline.primary_key)
    request = ExtractRequest(
        table=pipeline.table, columns=pipeline.primary_key, row_filter=None,
        query=f"SELECT {key} FROM ({pipeline.query}) AS etl_keys" if pipeline.query else None,
        batch_size=max(pipeline.batch_size or source.batch_size, 100_000),
        db_schema=source.db_schema, statement_timeout_s=source.statement_timeout_s,
        read_timeout_s=source.read_timeout_s)
    relative = naming.change_file_path(inputs.tenant, pipeline.name, inputs.run_id, "keys")
    with source.read(request, inputs.live) as reader:
        inputs.storage.write(relative, reader)
    written = stage_file(inputs.storage, relative)
    if written is None:
        raise FileNotFoundError(f"the file just written is missing: {relative}")
    return written


def _check_rows(inputs: StepInputs, pipeline: PipelineAssetConfig, rows: StageFile,
               emit: Emit) -> None:
    """The quality checks on this run's rows; a blocking one that fails stops the merge."""
    from etl.stages.quality import BlockedByChecks, check_file

    loading = pipeline.save_to_trino and inputs.wants(pipeline, "load")
    checks = [c for c in planned_checks(pipeline)
              if inputs.wants_quality(pipeline, c.name) or (loading and c.blocking)]
    if not checks:
        return
    key = naming.asset_key(inputs.tenant, "extract", pipeline.name)
    outcomes = check_file(pipeline, inputs.storage, rows, checks)
    for o in outcomes:
        if inputs.wants_quality(pipeline, o.check.name):
            emit(check_evaluation(key, o.check.name, None, o.passed, o.description, o.metadata,
                                  blocking=o.check.blocking))
    failed = [o.check.name for o in outcomes if o.check.blocking and not o.passed]
    if failed and loading:
        raise IncrementalFailure("load", BlockedByChecks(
            f"not merged: blocking check(s) {', '.join(failed)} failed on the extracted rows"))


def _merge(inputs: StepInputs, pipeline: PipelineAssetConfig, rows: StageFile,
           keys: StageFile | None, full: bool, state: State, scanned: bool,
           about: dict[str, Any], emit: Emit) -> None:
    started = time.monotonic()
    warehouse = inputs.warehouse.warehouse()
    result = warehouse.merge(MergeRequest(
        table=naming.warehouse_table(pipeline.name), key=pipeline.primary_key,
        rows=_lake_file(inputs, rows), full=full, mode=pipeline.load_mode,
        schema_drift=pipeline.schema_drift, deletes=pipeline.deletes.mode,
        keys=_lake_file(inputs, keys) if keys is not None else None))
    runs = 0 if scanned or full else state.runs_since_key_scan + 1
    outcome = StageOutcome(
        rows=result.rows, uri=rows.uri, seconds=time.monotonic() - started, schema=rows.schema,
        bytes=rows.bytes, table=result.table,
        extra={**about, naming.RUNS_SINCE_KEY_SCAN: runs, "merged_rows": rows.rows,
               "deleted_rows": result.deleted, "added_columns": list(result.added_columns)})
    key = naming.asset_key(inputs.tenant, "load", pipeline.name)
    emit(materialization(key, None, outcome))
    if inputs.wants_check(pipeline):
        passed = result.merged == rows.rows
        emit(check_evaluation(key, naming.RECONCILE_CHECK, None, passed, (
            f"All {rows.rows:,} rows read are in the table by key." if passed else
            f"{rows.rows:,} rows read, {result.merged:,} rows with their keys in the table."),
            {"parquet_rows": rows.rows, "warehouse_rows": result.merged}))
    emit(f"load {pipeline.name}: {'replaced by' if full else 'merged'} {rows.rows:,} rows, "
         f"{result.deleted:,} gone from the source; {result.rows:,} rows in {result.table} "
         f"({result.statements} statement(s))")


def _lake_file(inputs: StepInputs, file: StageFile) -> LakeFile:
    storage = inputs.storage
    folder = file.relative.rpartition("/")[0]
    return LakeFile(data=storage.dataset(file.relative), schema=file.schema,
                    folder_uri=storage.uri(folder),
                    local_paths=() if storage.is_s3 else (storage.path(file.relative),))


def _value(entry: object) -> Any:
    return getattr(entry, "value", entry)
