"""Custom transfers of tenant 'project_01'."""

from __future__ import annotations

import duckdb

from etl.common.transfer import TransferContext, standardize


def production_yield(
    source: duckdb.DuckDBPyRelation, ctx: TransferContext
) -> duckdb.DuckDBPyRelation:
    """The common clean-up plus good quantity and defect rate, which this site reports on."""
    base = standardize(source, ctx)
    ctx.connection.register("production", base)
    return ctx.connection.sql(
        """
        SELECT *,
               produced_qty - defect_qty AS good_qty,
               CASE WHEN produced_qty = 0 THEN NULL
                    ELSE round(defect_qty::DOUBLE / produced_qty, 4) END AS defect_rate
        FROM production
        """
    )
