"""Custom transfer functions for this tenant.

Reference one from config.yaml with ``transfer: {function: "tenant:<name>"}``. A transfer gets
a DuckDB relation over the extracted day (or master snapshot) and returns a DuckDB relation,
a ``pyarrow.Table`` or a ``pyarrow.RecordBatchReader``; prefer relations, which stream.
"""

from __future__ import annotations

import duckdb

from etl.common.transfer import TransferContext, standardize


def example_transfer(
    source: duckdb.DuckDBPyRelation, ctx: TransferContext
) -> duckdb.DuckDBPyRelation:
    """Start from the common transfer and add tenant-specific columns."""
    return standardize(source, ctx)
