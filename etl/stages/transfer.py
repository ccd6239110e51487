"""The transfer stage: reshape extracted data on DuckDB over Arrow, never through pandas.

The function is a common one (:mod:`etl.common.transfer`), a tenant's own (``tenant:<name>``)
or a ``sql:`` transfer: one DuckDB query over a relation named ``source``. Every transfer runs
on a sandboxed connection (:mod:`etl.utils.duckdb_sandbox`) unless its pipeline sets
``transfer.allow_external_access``, within its memory, temporary-disk and time limits
(:mod:`etl.stages.transfer_limits`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING

from etl import naming
from etl.common.transfer import TransferContext, TransferFunction, TransferOutput, snake_case
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.s3 import StorageResource
from etl.stages.inputs import StageFile, StageFiles, stage_files
from etl.stages.outcome import DayResult, StageOutcome
from etl.stages.transfer_limits import TransferGuard, capped_output, limit_error
from etl.utils.duckdb_sandbox import (
    Limits,
    check_transfer_query,
    first_line,
    shorten,
    transfer_connection,
)
from etl.utils.live_work import LiveWork
from etl.utils.scratch import scratch_dir

if TYPE_CHECKING:  # code locations import this module to resolve transfers: keep it light
    import duckdb
    import pyarrow as pa


class TransferRefused(RuntimeError):
    """The sandbox refused what a transfer tried; the message names the statement or function."""


@functools.cache  # one function per query: a tenant's definitions are built once per config
def sql_transfer(sql: str) -> TransferFunction:
    def _run(source: duckdb.DuckDBPyRelation, ctx: TransferContext) -> duckdb.DuckDBPyRelation:
        import duckdb

        check_transfer_query(sql)  # config checked it at load; tests and bench call this too
        try:
            return ctx.connection.sql(sql)
        except duckdb.Error as e:
            raise TransferRefused(
                f"transfer SQL {shorten(sql)!r} of pipeline {ctx.pipeline.name!r} failed: "
                f"{first_line(str(e))}"
            ) from e

    return _run


def run_transfer(
    tenant: str,
    pipeline: PipelineAssetConfig,
    function: TransferFunction,
    storage: StorageResource,
    days: Sequence[str] | None,
    live: LiveWork | None = None,
) -> Iterator[DayResult]:
    """Reshape each day (or the master data) on one DuckDB connection, a result per day.

    Days are independent: a day that fails (or has no extract) is reported and the others go
    on, with the same result as day-by-day runs. The connection works within the pipeline's
    ``transfer`` limits (:mod:`etl.stages.transfer_limits`); ``live`` gets a way to interrupt
    it while it runs (the step is being stopped).
    """

    inputs = stage_files(storage, tenant, "extract", pipeline.name, days,
                         pipeline.partition_column)
    ref = pipeline.transfer_ref
    with scratch_dir("transfer") as temp, transfer_connection(
            allow_external_access=ref.allow_external_access,
            limits=Limits(ref.memory_limit, ref.max_temp_size, str(temp))) as con:
        guard = TransferGuard(con, ref.timeout_s)
        try:
            with live.running(guard.stop) if live is not None else nullcontext():
                for day in (list(days) if days is not None else [None]):
                    yield _one_day(tenant, pipeline, function, storage, con, guard, day,
                                   inputs.present.get(day), inputs)
        finally:
            guard.close()


def _one_day(tenant: str, pipeline: PipelineAssetConfig, function: TransferFunction,
             storage: StorageResource, con: duckdb.DuckDBPyConnection, guard: TransferGuard,
             day: str | None, file: StageFile | None, inputs: StageFiles) -> DayResult:
    if file is None:
        return DayResult(day, error=inputs.missing_error([day]))
    what = f"transfer of {tenant}/{pipeline.name} [{day or 'latest'}]"
    try:
        with guard.day():
            return DayResult(day, _transfer_day(tenant, pipeline, function, storage, con, day,
                                                file.relative, what))
    except Exception as error:  # the other days still run
        return DayResult(day, error=limit_error(error, guard.fired, what,
                                                pipeline.transfer_ref))


def _transfer_day(tenant: str, pipeline: PipelineAssetConfig, function: TransferFunction,
                  storage: StorageResource, con: duckdb.DuckDBPyConnection, day: str | None,
                  source_rel: str, what: str) -> StageOutcome:
    started = time.monotonic()
    target_rel = naming.data_file_path(tenant, "transfer", pipeline.name, day,
                                       pipeline.partition_column)
    dataset = storage.dataset(source_rel)
    source = con.from_arrow(dataset)
    con.register("source", source)
    output = _call(function, source, TransferContext(tenant, pipeline, day, con))
    checked = _checked(_as_reader(output), dataset.schema, pipeline, day)
    capped = capped_output(checked, what, pipeline.transfer_ref)
    stats = storage.write(target_rel, carry_comments(capped, dataset.schema))
    return StageOutcome(
        rows=stats.rows, uri=storage.written_uri(target_rel), seconds=time.monotonic() - started,
        schema=stats.schema, bytes=stats.bytes,
    )


def _call(function: TransferFunction, source: duckdb.DuckDBPyRelation,
          ctx: TransferContext) -> TransferOutput:
    """Run the transfer; what the sandbox refuses says which function and how to allow it."""
    import duckdb

    try:
        return function(source, ctx)
    except (duckdb.PermissionException, duckdb.InvalidInputException) as e:
        text = first_line(str(e))
        if "disabled" not in text and "locked" not in text:
            raise
        name = getattr(function, "__name__", repr(function))
        raise TransferRefused(
            f"transfer {name!r} of pipeline {ctx.pipeline.name!r} was refused by the DuckDB "
            f"sandbox: {text}; if it must reach files, databases, extensions or settings, set "
            "transfer.allow_external_access: true for this pipeline"
        ) from e


def _checked(reader: pa.RecordBatchReader, consumed: pa.Schema, pipeline: PipelineAssetConfig,
             day: str | None) -> pa.RecordBatchReader:
    """The output with the logical types of the columns it passes through (uuid, json, ...),
    refused before it is written if a daily output has a column named like the partition."""
    import pyarrow as pa

    from etl.utils.logical_types import carry

    if day is not None:
        clash = naming.partition_clash(reader.schema.names, pipeline.partition_column)
        if clash is not None:
            raise ValueError(naming.partition_clash_message(clash, pipeline.partition_column))
    schema = carry(reader.schema, consumed, snake_case)
    if schema.equals(reader.schema, check_metadata=True):
        return reader
    return pa.RecordBatchReader.from_batches(
        schema, (pa.RecordBatch.from_arrays(b.columns, schema=schema) for b in reader))


def carry_comments(reader: pa.RecordBatchReader, source: pa.Schema) -> pa.RecordBatchReader:
    """The source columns' comments on the output columns of the same (or snake_cased) name:
    DuckDB drops field metadata, the transfer's file should still describe its columns."""
    import pyarrow as pa

    comments = {}
    for f in source:
        comment = (f.metadata or {}).get(b"comment")
        if comment:
            comments[f.name] = comments[snake_case(f.name)] = comment
    if not comments:
        return reader
    fields = [f.with_metadata({**(f.metadata or {}), b"comment": comments[f.name]})
              if f.name in comments and not (f.metadata or {}).get(b"comment") else f
              for f in reader.schema]
    return pa.RecordBatchReader.from_batches(pa.schema(fields, reader.schema.metadata), reader)


def _as_reader(output: TransferOutput) -> pa.RecordBatchReader:
    import duckdb
    import pyarrow as pa

    if isinstance(output, pa.RecordBatchReader):
        return output
    if isinstance(output, pa.Table):
        return output.to_reader()
    if isinstance(output, duckdb.DuckDBPyRelation):
        reader: pa.RecordBatchReader = output.to_arrow_reader(100_000)
        return reader
    raise TypeError(
        "a transfer must return a DuckDB relation, a pyarrow.Table or a pyarrow.RecordBatchReader, "
        f"not {type(output).__name__}"
    )
