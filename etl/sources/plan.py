"""What a read runs: one SQLAlchemy statement and the Arrow schema it produces.

Both readers run the same plan. The SQLAlchemy reader executes the statement with bound
parameters; the DuckDB reader renders it with literal values and hands it to the scanner's
``postgres_query``/``mysql_query``. So the day filter, the source-side casts and the resulting
schema are identical, and the checks here (connection, table, columns) fail the same way for
both, before any data moves.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL

from etl.sources.arrow_types import CAST_DIALECTS, ColumnType, column_type
from etl.sources.base import ExtractRequest, SourceError
from etl.sources.describe import describe_query, escape_colons
from etl.sources.errors import describe_db_error, where

# The config's rule for source identifiers, repeated because readers are also called directly
# (bench, tests). Names are still quoted by SQLAlchemy; the rule only keeps them boring.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
MAX_IDENTIFIER = 63  # PostgreSQL silently truncates longer names


@dataclass(frozen=True)
class PlannedColumn:
    name: str
    arrow: pa.DataType | None  # None: inferred from the values (dialects we do not describe)


@dataclass(frozen=True)
class ReadPlan:
    statement: sa.Select[Any] | sa.TextClause
    columns: tuple[PlannedColumn, ...] | None  # None: not known before the rows arrive
    label: str

    @property
    def schema(self) -> pa.Schema | None:
        if self.columns is None or any(c.arrow is None for c in self.columns):
            return None
        return pa.schema([pa.field(c.name, c.arrow) for c in self.columns])


def plan_read(engine: sa.Engine, request: ExtractRequest, secret: str | None) -> ReadPlan:
    """Connect, reflect the table (or describe the query) and build the statement."""
    _check_identifiers(request)
    try:
        conn = engine.connect()
    except sa.exc.SQLAlchemyError as e:
        cause = describe_db_error(e, secret)
        raise SourceError(f"cannot connect to {where(engine.url)}: {cause}") from None
    with conn:
        try:
            if request.table is not None:
                return _table_plan(conn, request, request.table)
            assert request.query is not None
            return _query_plan(conn, request, request.query)
        except sa.exc.SQLAlchemyError as e:
            # from None: a chained driver error may echo SQL and connection details.
            cause = describe_db_error(e, secret)
            raise SourceError(f"cannot read {request.label!r}: {cause}") from None


def _table_plan(conn: sa.Connection, request: ExtractRequest, qualified: str) -> ReadPlan:
    dialect = conn.dialect.name
    schema_name, _, name = qualified.rpartition(".")
    schema_name = schema_name or request.db_schema or ""
    try:
        with warnings.catch_warnings():  # "Did not recognize type 'xml'": read as text anyway
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            table = sa.Table(name, sa.MetaData(), autoload_with=conn, schema=schema_name or None)
    except sa.exc.NoSuchTableError:
        in_schema = f" (schema {schema_name!r})" if schema_name else ""
        raise SourceError(f"table {qualified!r} does not exist in the source{in_schema}") from None
    cols = list(table.columns)
    if request.columns is not None:
        missing = [c for c in request.columns if c not in table.columns]
        if missing:
            raise SourceError(
                f"column(s) {missing} do not exist in table {qualified!r}; "
                f"it has {[c.name for c in cols]}"
            )
        cols = [table.columns[c] for c in request.columns]
    types = [column_type(c.type, dialect) for c in cols]
    stmt = sa.select(*[_expr(c, t) for c, t in zip(cols, types, strict=True)])
    if request.window is not None and request.date_column is not None:
        if request.date_column not in table.columns:
            raise SourceError(
                f"date_column {request.date_column!r} does not exist in table {qualified!r}"
            )
        date_col = table.columns[request.date_column]
        start, end = window_bounds(request, column_type(date_col.type, dialect).arrow, dialect)
        stmt = stmt.where(date_col >= start, date_col < end)
    planned = tuple(PlannedColumn(c.name, t.arrow) for c, t in zip(cols, types, strict=True))
    return ReadPlan(stmt, planned, qualified)


def _query_plan(conn: sa.Connection, request: ExtractRequest, query: str) -> ReadPlan:
    dialect = conn.dialect.name
    date_name = request.date_column if request.window is not None else None
    if dialect not in CAST_DIALECTS:
        return _generic_query_plan(request, query, date_name, dialect)
    described = describe_query(conn, query)
    names = [n for n, _ in described]
    if date_name is not None and date_name not in names:
        raise SourceError(
            f"date_column {date_name!r} is not a column of the query; it returns {names}"
        )
    types = {n: column_type(t, dialect) if t is not None else None for n, t in described}
    sub = sa.text(escape_colons(query)).columns(
        *[sa.column(n, t if t is not None else sa.types.NullType()) for n, t in described]
    ).subquery("q")
    exprs = [_expr(sub.c[n], t) if t is not None else sub.c[n] for n, t in types.items()]
    stmt = sa.select(*exprs).select_from(sub)
    if date_name is not None:
        date_type = types[date_name]
        start, end = window_bounds(request, date_type.arrow if date_type else None, dialect)
        stmt = stmt.where(sub.c[date_name] >= start, sub.c[date_name] < end)
    planned = tuple(PlannedColumn(n, t.arrow if t else None) for n, t in types.items())
    return ReadPlan(stmt, planned, "query")


def _generic_query_plan(
    request: ExtractRequest, query: str, date_name: str | None, dialect: str
) -> ReadPlan:
    """Dialects we do not describe: the query as written, filtered by day if partitioned."""
    if date_name is None:
        return ReadPlan(sa.text(escape_colons(query)), None, "query")
    # SQLite stores datetimes as ISO text: compare with ISO dates, which also matches DATE text.
    date_type: sa.types.TypeEngine[Any] = sa.String() if dialect == "sqlite" else sa.DateTime()
    sub = sa.text(escape_colons(query)).columns(sa.column(date_name, date_type)).subquery("q")
    start, end = window_bounds(request, None, dialect)
    stmt: sa.Select[Any] = (
        sa.select(sa.literal_column("*")).select_from(sub)
        .where(sub.c[date_name] >= start, sub.c[date_name] < end)
    )
    return ReadPlan(stmt, None, "query")


def window_bounds(
    request: ExtractRequest, arrow: pa.DataType | None, dialect: str
) -> tuple[Any, Any]:
    """The day window as values of the date column's kind.

    Dates compare as dates; naive timestamps as the wall-clock window itself; instants
    (timestamptz, MySQL TIMESTAMP) as the window's start and end in the tenant's zone, converted
    to UTC (MySQL sessions run at +00:00, so there they are passed as naive UTC).
    """
    assert request.window is not None
    start, end = request.window
    if arrow is None and dialect == "sqlite":
        return start.date().isoformat(), end.date().isoformat()
    if arrow is not None and pa.types.is_date(arrow):
        return start.date(), end.date()
    if arrow is not None and pa.types.is_timestamp(arrow) and arrow.tz is not None:
        try:
            zone = ZoneInfo(request.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SourceError(f"unknown time zone {request.timezone!r}") from None
        utc = [d.replace(tzinfo=zone).astimezone(dt.UTC) for d in (start, end)]
        if dialect != "postgresql":
            utc = [d.replace(tzinfo=None) for d in utc]
        return utc[0], utc[1]
    return start, end


def render_sql(statement: sa.ClauseElement, url: URL) -> str:
    """The statement as SQL text with literal values, for a reader that cannot bind parameters.

    Only the window bounds are bound, and SQLAlchemy renders them as quoted ISO literals. A
    ``named`` paramstyle keeps ``%`` in custom queries as written (pyformat would double it).
    """
    dialect = url.get_dialect()(paramstyle="named")  # type: ignore[call-arg]
    compiled = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def _expr(col: sa.ColumnElement[Any], t: ColumnType) -> sa.ColumnElement[Any]:
    name = str(col.key)
    if t.cast is not None:
        return sa.cast(col, t.cast).label(name)
    if pa.types.is_floating(t.arrow):
        # MySQL DOUBLE reflects with asdecimal=True; read floats as floats, not Decimal.
        return sa.type_coerce(col, sa.Double()).label(name)
    return col


def _check_identifiers(request: ExtractRequest) -> None:
    names: list[tuple[str, str | None]] = [("date_column", request.date_column),
                                            ("db_schema", request.db_schema)]
    if request.table is not None:
        names += [("table", part) for part in request.table.split(".", 1)]
    names += [("column", c) for c in request.columns or ()]
    for field, value in names:
        if value is not None and (not IDENTIFIER.match(value) or len(value) > MAX_IDENTIFIER):
            raise SourceError(
                f"{field} {value!r} is not a plain identifier: expected letters, digits, '_' "
                f"or '$', starting with a letter or '_', at most {MAX_IDENTIFIER} characters"
            )
