"""Transfer: reshape extracted data on DuckDB over Arrow, never through pandas.

A transfer is a function ``(source, ctx) -> relation | pa.Table | pa.RecordBatchReader`` where
``source`` is a DuckDB relation over the extracted Parquet. Common transfers live here in
``COMMON_TRANSFERS``; a tenant's own go in its ``assets/transfer.py`` and are referenced from
config as ``tenant:<name>``. A ``sql:`` transfer is DuckDB SQL over a relation named ``source``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from etl import naming
from etl.common.assets.inputs import require_stage_output
from etl.common.assets.outcome import StageOutcome
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.s3 import StorageResource
from etl.utils.sql import quote

if TYPE_CHECKING:  # code locations import this module to resolve transfers: keep it light
    import duckdb
    import pyarrow as pa

TransferOutput: TypeAlias = "duckdb.DuckDBPyRelation | pa.Table | pa.RecordBatchReader"


@dataclass(frozen=True)
class TransferContext:
    """What a transfer function may know about the data it reshapes."""

    tenant: str
    pipeline: PipelineAssetConfig
    partition_key: str | None
    connection: duckdb.DuckDBPyConnection


TransferFunction: TypeAlias = Callable[["duckdb.DuckDBPyRelation", TransferContext], TransferOutput]


def snake_case(name: str) -> str:
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def standardize(source: duckdb.DuckDBPyRelation, ctx: TransferContext) -> duckdb.DuckDBPyRelation:
    """Snake-case column names and keep one row per primary key.

    The row kept is the latest by ``date_column``; ties (and master data, which has no date
    column) are broken by every other column, so a rerun keeps the same row.
    """
    names = [snake_case(c) for c in source.columns]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise ValueError(
            f"columns {[c for c in source.columns if snake_case(c) in clashes]} all become "
            f"{clashes} in snake_case; rename them in the source query or use another transfer"
        )
    renamed = ", ".join(f"{quote(c)} AS {quote(n)}" for c, n in zip(source.columns, names,
                                                                      strict=True))
    relation = source.select(renamed)
    key = [snake_case(c) for c in ctx.pipeline.primary_key]
    if not key:
        return relation
    date = snake_case(ctx.pipeline.date_column) if ctx.pipeline.date_column else None
    ordering = ([f"{quote(date)} DESC NULLS LAST"] if date else []) + [
        quote(n) for n in names if n not in key and n != date
    ]
    order = f"ORDER BY {', '.join(ordering)}" if ordering else ""
    partition = ", ".join(quote(c) for c in key)
    ctx.connection.register("standardized", relation)
    return ctx.connection.sql(
        "SELECT * FROM standardized QUALIFY row_number() OVER "
        f"(PARTITION BY {partition} {order}) = 1"
    )


COMMON_TRANSFERS: dict[str, TransferFunction] = {"standardize": standardize}


def sql_transfer(sql: str) -> TransferFunction:
    def _run(source: duckdb.DuckDBPyRelation, ctx: TransferContext) -> duckdb.DuckDBPyRelation:
        return ctx.connection.sql(sql)

    return _run


def run_transfer(
    tenant: str,
    pipeline: PipelineAssetConfig,
    function: TransferFunction,
    storage: StorageResource,
    partition_key: str | None,
) -> StageOutcome:
    started = time.monotonic()
    source_rel = require_stage_output(storage, tenant, "extract", pipeline.name, partition_key)
    target_rel = naming.data_file_path(tenant, "transfer", pipeline.name, partition_key)
    dataset = storage.dataset(source_rel)
    import duckdb

    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = false")
        source = con.from_arrow(dataset)
        con.register("source", source)
        output = function(source, TransferContext(tenant, pipeline, partition_key, con))
        stats = storage.write(target_rel, _as_reader(output))
    return StageOutcome(
        rows=stats.rows, uri=storage.uri(target_rel), seconds=time.monotonic() - started,
        schema=stats.schema, bytes=stats.bytes,
    )


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
