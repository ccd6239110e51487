"""Finding, in the source, a value that would not fit its decimal type, before any row moves.

A range extract writes one file per day as the rows stream by, so a value that fails its
conversion on the fifth day would leave four days written. For every column read as text and
converted to a decimal (:mod:`etl.sources.convert`), one query first asks the source for a row of
the window that does not fit, with the same ``round`` and magnitude test as the conversion: an
unfit value then fails the stage before its first file. A single file (one day, master data) is
atomic anyway, so it needs no such query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from etl.sources.arrow_types import ColumnType


def converted_decimals(types: Mapping[str, ColumnType | None]) -> dict[str, pa.Decimal128Type]:
    """The columns read as text and turned into a decimal afterwards."""
    return {n: t.arrow for n, t in types.items()
            if t is not None and t.read is not None and pa.types.is_string(t.read)
            and pa.types.is_decimal(t.arrow)}


def fit_check(source: sa.FromClause, columns: Mapping[str, sa.ColumnElement[Any]],
              types: Mapping[str, ColumnType | None],
              condition: sa.ColumnElement[bool] | None) -> sa.Select[Any] | None:
    """``SELECT <those columns as text> ... WHERE <window> AND <any does not fit> LIMIT 1``."""
    checked = converted_decimals(types)
    if not checked:
        return None
    texts: list[sa.ColumnElement[Any]] = [sa.cast(columns[n], sa.Text).label(n) for n in checked]
    stmt: sa.Select[Any] = sa.select(*texts).select_from(
        source).where(sa.or_(*[_unfit(columns[n], t) for n, t in checked.items()]))
    if condition is not None:
        stmt = stmt.where(condition)
    return stmt.limit(1)


def _unfit(column: sa.ColumnElement[Any], target: pa.Decimal128Type) -> sa.ColumnElement[bool]:
    """More decimals than the scale, or as many integer digits as would not fit.

    Literals are inlined: a bound ``round(x, $1)`` would reach PostgreSQL as numeric, and MySQL
    would read a bound 10^29 as a float. NaN and ±Infinity (PostgreSQL numeric) sort above
    every number, so they count as too large.
    """
    scale: sa.ColumnElement[Any] = sa.literal_column(str(target.scale))
    bound: sa.ColumnElement[Any] = sa.literal_column(str(10 ** (target.precision - target.scale)))
    return sa.or_(column != sa.func.round(column, scale), sa.func.abs(column) >= bound)
