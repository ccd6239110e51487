"""The transfers every tenant can name (``common:<name>``) and the hook they all share.

A transfer is a function ``(source, ctx) -> relation | pa.Table | pa.RecordBatchReader`` where
``source`` is a DuckDB relation over the extracted Parquet and ``ctx`` a
:class:`TransferContext`. The common ones are listed in ``COMMON_TRANSFERS``; a tenant's own go
in its ``assets/transfer.py`` and import what they build on from here (``standardize``,
``TransferContext``). :mod:`etl.stages.transfer` runs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from etl.config.tenant_config import PipelineAssetConfig
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
    """Snake-case column names and keep one row per primary key, ordered by the key.

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
    # Ordered by the key, so a rerun (or a range run) writes the very same file.
    return ctx.connection.sql(
        "SELECT * FROM standardized QUALIFY row_number() OVER "
        f"(PARTITION BY {partition} {order}) = 1 ORDER BY {partition}"
    )


COMMON_TRANSFERS: dict[str, TransferFunction] = {"standardize": standardize}
