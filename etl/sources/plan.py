"""What a read runs: one SQLAlchemy statement and the Arrow schema it produces.

Both readers run the same plan. The SQLAlchemy reader executes the statement with bound
parameters; the DuckDB reader renders it with literal values and hands it to the scanner's
query function. So the row filter, the source-side casts and the resulting schema are
identical, and the checks here (connection, table, columns) fail the same way for both, before
any data moves.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL

from etl.sources.arrow_types import ColumnType, column_type
from etl.sources.base import ExtractRequest, SourceError
from etl.sources.dialects.describe import escape_colons
from etl.sources.dialects.registry import Dialect, dialect_for
from etl.sources.errors import describe_db_error, where
from etl.sources.row_filter import RowFilter

# The config's rule for source identifiers, repeated because readers are also called directly
# (bench, tests). Names are still quoted by SQLAlchemy; the rule only keeps them boring.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
MAX_IDENTIFIER = 63  # PostgreSQL silently truncates longer names


@dataclass(frozen=True)
class PlannedColumn:
    name: str
    arrow: pa.DataType | None  # None: inferred from the values (dialects we do not describe)
    comment: str | None = None  # the column's comment in the source, where it has one


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

    def described(self, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        """``reader`` with the source's column comments as ``comment`` field metadata, which
        the Parquet files keep and Dagster shows as column descriptions."""
        comments = {c.name: c.comment for c in self.columns or () if c.comment}
        if not comments:
            return reader
        fields = [f.with_metadata({**(f.metadata or {}), b"comment": comments[f.name].encode()})
                  if f.name in comments else f for f in reader.schema]
        return pa.RecordBatchReader.from_batches(
            pa.schema(fields, metadata=reader.schema.metadata), reader)


def plan_read(engine: sa.Engine, request: ExtractRequest, secret: str | None) -> ReadPlan:
    """Connect, reflect the table (or describe the query) and build the statement."""
    _check_identifiers(request)
    dialect = dialect_for(engine.url)
    try:
        conn = engine.connect()
    except sa.exc.SQLAlchemyError as e:
        cause = describe_db_error(e, secret)
        raise SourceError(f"cannot connect to {where(engine.url)}: {cause}") from None
    with conn:
        try:
            if request.table is not None:
                return _table_plan(conn, dialect, request, request.table)
            return _query_plan(conn, dialect, request, request.query or "")
        except sa.exc.SQLAlchemyError as e:
            # from None: a chained driver error may echo SQL and connection details.
            cause = describe_db_error(e, secret)
            raise SourceError(f"cannot read {request.label!r}: {cause}") from None


def _table_plan(
    conn: sa.Connection, dialect: Dialect, request: ExtractRequest, qualified: str
) -> ReadPlan:
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
    row_filter = request.row_filter
    if row_filter is not None:
        if row_filter.column not in table.columns:
            raise SourceError(
                f"date_column {row_filter.column!r} does not exist in table {qualified!r}"
            )
        filtered = table.columns[row_filter.column]
        arrow = column_type(filtered.type, dialect).arrow
        stmt = stmt.where(row_filter.predicate(filtered, arrow, dialect))
        if row_filter.ordered:
            stmt = stmt.order_by(filtered)
    planned = tuple(PlannedColumn(c.name, t.arrow, c.comment)
                    for c, t in zip(cols, types, strict=True))
    return ReadPlan(stmt, planned, qualified)


def _query_plan(
    conn: sa.Connection, dialect: Dialect, request: ExtractRequest, query: str
) -> ReadPlan:
    row_filter = request.row_filter
    described = dialect.describe(conn, query)
    if described is None:
        return _untyped_query_plan(dialect, query, row_filter)
    names = [n for n, _ in described]
    if row_filter is not None and row_filter.column not in names:
        raise SourceError(
            f"date_column {row_filter.column!r} is not a column of the query; it returns {names}"
        )
    types = {n: column_type(t, dialect) if t is not None else None for n, t in described}
    sub = sa.text(escape_colons(query)).columns(
        *[sa.column(n, t if t is not None else sa.types.NullType()) for n, t in described]
    ).subquery("q")
    exprs = [_expr(sub.c[n], t) if t is not None else sub.c[n] for n, t in types.items()]
    stmt = sa.select(*exprs).select_from(sub)
    if row_filter is not None:
        filtered_type = types[row_filter.column]
        arrow = filtered_type.arrow if filtered_type else None
        stmt = stmt.where(row_filter.predicate(sub.c[row_filter.column], arrow, dialect))
        if row_filter.ordered:
            stmt = stmt.order_by(sub.c[row_filter.column])
    planned = tuple(PlannedColumn(n, t.arrow if t else None) for n, t in types.items())
    return ReadPlan(stmt, planned, "query")


def _untyped_query_plan(dialect: Dialect, query: str, row_filter: RowFilter | None) -> ReadPlan:
    """Dialects we do not describe: the query as written, filtered if the pipeline says so."""
    if row_filter is None:
        return ReadPlan(sa.text(escape_colons(query)), None, "query")
    column = sa.column(row_filter.column, dialect.untyped_date_type())
    sub = sa.text(escape_colons(query)).columns(column).subquery("q")
    stmt: sa.Select[Any] = (
        sa.select(sa.literal_column("*")).select_from(sub)
        .where(row_filter.predicate(sub.c[row_filter.column], None, dialect))
    )
    if row_filter.ordered:
        stmt = stmt.order_by(sub.c[row_filter.column])
    return ReadPlan(stmt, None, "query")


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
    filtered = request.row_filter.column if request.row_filter is not None else None
    names: list[tuple[str, str | None]] = [("date_column", filtered),
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
