"""What a read runs: one SQLAlchemy statement and the Arrow schema it produces.

Both readers run the same plan. The SQLAlchemy reader executes the statement with bound
parameters; the DuckDB reader renders it with literal values and hands it to the scanner's
query function. So the row filter, the source-side casts and the resulting schema are
identical, and the checks here (connection, table, columns) fail the same way for both, before
any data moves.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL

from etl.naming import partition_clash, partition_clash_message
from etl.sources.arrow_types import ColumnType, chosen_type, column_type
from etl.sources.base import ExtractRequest
from etl.sources.choices import checked_choices
from etl.sources.day_set import DaySet
from etl.sources.dialects.base import SaType
from etl.sources.dialects.describe import escape_colons
from etl.sources.dialects.registry import Dialect, dialect_for
from etl.sources.errors import SourceError, describe_db_error, where
from etl.sources.fingerprint import (
    CHECKSUM_LABEL,
    DAY_LABEL,
    ROWS_LABEL,
    FingerprintPlan,
    FingerprintSpec,
)
from etl.sources.fit_check import fit_check
from etl.sources.in_band import ROW_HASH, RowHashes
from etl.sources.row_filter import DayWindow

# The config's rule for source identifiers, repeated because readers are also called directly
# (bench, tests). Names are still quoted by SQLAlchemy; the rule only keeps them boring.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
MAX_IDENTIFIER = 63  # PostgreSQL silently truncates longer names


@dataclass(frozen=True)
class PlannedColumn:
    name: str
    type: ColumnType | None  # None: inferred from the values (dialects we do not describe)
    comment: str | None = None  # the column's comment in the source, where it has one
    nullable: bool = True  # False: NOT NULL in the source table (a query's columns: unknown)

    @property
    def arrow(self) -> pa.DataType | None:
        return self.type.arrow if self.type is not None else None


@dataclass(frozen=True)
class ReadPlan:
    statement: sa.Select[Any] | sa.TextClause
    columns: tuple[PlannedColumn, ...] | None  # None: not known before the rows arrive
    label: str
    fit_check: sa.Select[Any] | None = None
    """The first row whose converted values may not fit their decimal type (see ``fits``)."""
    chosen: Mapping[str, ColumnType] = field(default_factory=dict)
    """``column_types`` choices, for an undescribed query's columns (typed when rows arrive)."""
    partition_column: str | None = None
    fingerprint: FingerprintPlan | None = None
    """The query taking each day's fingerprint of the same window (a request that asks)."""
    row_hashes: RowHashes | None = None
    """The statement also returns each row's hash (:mod:`etl.sources.in_band`): the read adds
    them up itself and ``fingerprint`` is only for taking them again later."""

    @property
    def schema(self) -> pa.Schema | None:
        """The Parquet schema: final types, with the columns' logical-type metadata."""
        if self.columns is None or any(c.type is None for c in self.columns):
            return None
        return pa.schema([c.type.field(c.name, c.nullable) for c in self.columns
                          if c.type is not None])

    @property
    def read_schema(self) -> pa.Schema | None:
        """What the readers deliver, before :mod:`etl.sources.convert` finishes the types."""
        if self.columns is None or any(c.type is None for c in self.columns):
            return None
        return pa.schema([(c.name, c.type.delivered) for c in self.columns if c.type is not None])

    def described(self, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        """``reader`` with what the source says of its columns: comments (``comment`` field
        metadata, which the Parquet files keep and Dagster shows as column descriptions) and
        NOT NULL (a required field, so Parquet, the warehouse and Dagster's column schema
        say it too)."""
        comments = {c.name: c.comment for c in self.columns or () if c.comment}
        required = {c.name for c in self.columns or () if not c.nullable}
        if not comments and not required:
            return reader
        fields = [f.with_metadata({**(f.metadata or {}), b"comment": comments[f.name].encode()})
                  if f.name in comments else f for f in reader.schema]
        schema = pa.schema([f.with_nullable(False) if f.name in required else f
                            for f in fields], metadata=reader.schema.metadata)
        return pa.RecordBatchReader.from_batches(
            schema, (pa.RecordBatch.from_arrays(b.columns, schema=schema) for b in reader))


Reflected = dict[tuple[str, str], tuple[sa.Table, dict[str, SaType]]]


def plan_read(engine: sa.Engine, request: ExtractRequest, secret: str | None,
              reflected: Reflected | None = None) -> ReadPlan:
    """Connect, reflect the table (or describe the query) and build the statement.

    ``reflected`` keeps tables already reflected (and their columns' types), so the scans of
    one range plan their windows on one reflection.
    """
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
                return _table_plan(conn, dialect, request, request.table, reflected)
            return _query_plan(conn, dialect, request, request.query or "")
        except sa.exc.SQLAlchemyError as e:
            # from None: a chained driver error may echo SQL and connection details.
            cause = describe_db_error(e, secret)
            raise SourceError(f"cannot read {request.label!r}: {cause}") from None


def _table_plan(
    conn: sa.Connection, dialect: Dialect, request: ExtractRequest, qualified: str,
    known: Reflected | None = None,
) -> ReadPlan:
    schema_name, _, name = qualified.rpartition(".")
    schema_name = schema_name or request.db_schema or ""
    if known is not None and (schema_name, name) in known:
        table, reflected = known[(schema_name, name)]
    else:
        table, reflected = _reflect(conn, dialect, qualified, schema_name, name)
        if known is not None:
            known[(schema_name, name)] = (table, reflected)
    cols = list(table.columns)
    if request.columns is not None:
        missing = [c for c in request.columns if c not in table.columns]
        if missing:
            raise SourceError(
                f"column(s) {missing} do not exist in table {qualified!r}; "
                f"it has {[c.name for c in cols]}"
            )
        cols = [table.columns[c] for c in request.columns]
    row_filter = request.row_filter
    if row_filter is not None and row_filter.column not in table.columns:
        raise SourceError(f"{_field(row_filter)} {row_filter.column!r} does not exist in "
                          f"table {qualified!r}")
    described = [(c.name, reflected[c.name]) for c in cols]
    types = _resolve(request, dialect, described, f"table {qualified!r}")
    columns = {c.name: c for c in table.columns}
    date_type = (column_type(reflected[row_filter.column], dialect).arrow
                 if row_filter is not None else None)
    return _plan(request, dialect, table, columns, types, date_type, qualified,
                 {c.name: c.comment for c in cols},
                 frozenset(c.name for c in cols if not c.nullable), _server(conn))


def _reflect(conn: sa.Connection, dialect: Dialect, qualified: str, schema_name: str,
             name: str) -> tuple[sa.Table, dict[str, SaType]]:
    try:
        with warnings.catch_warnings():  # "Did not recognize type 'xml'": read as text anyway
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            table = sa.Table(name, sa.MetaData(), autoload_with=conn, schema=schema_name or None)
    except sa.exc.NoSuchTableError:
        in_schema = f" (schema {schema_name!r})" if schema_name else ""
        raise SourceError(f"table {qualified!r} does not exist in the source{in_schema}") from None
    return table, dict(dialect.column_types(conn, table))


def _query_plan(
    conn: sa.Connection, dialect: Dialect, request: ExtractRequest, query: str
) -> ReadPlan:
    row_filter = request.row_filter
    described = dialect.describe(conn, query)
    if described is None:
        return _untyped_query_plan(dialect, query, request)
    names = [n for n, _ in described]
    if row_filter is not None and row_filter.column not in names:
        raise SourceError(f"{_field(row_filter)} {row_filter.column!r} is not a column of "
                          f"the query; it returns {names}")
    types = _resolve(request, dialect, described, "the query")
    sub = sa.text(escape_colons(query)).columns(
        *[sa.column(n, t if t is not None else sa.types.NullType()) for n, t in described]
    ).subquery("q")
    date_type = None
    if row_filter is not None:
        raw = dict(described)[row_filter.column]
        date_type = column_type(raw, dialect).arrow if raw is not None else None
    return _plan(request, dialect, sub, dict(sub.c.items()), types, date_type, "query",
                 server=_server(conn))


def _server(conn: sa.Connection) -> tuple[int, ...]:
    """The server's version, as far as the driver reports it (some features depend on it)."""
    version = conn.dialect.server_version_info
    return tuple(v for v in version if isinstance(v, int)) if version else ()


def _plan(request: ExtractRequest, dialect: Dialect, source: sa.FromClause,
          columns: Mapping[str, sa.ColumnElement[Any]], types: dict[str, ColumnType | None],
          date_type: pa.DataType | None, label: str,
          comments: Mapping[str, str | None] | None = None,
          required: frozenset[str] = frozenset(), server: tuple[int, ...] = ()
          ) -> ReadPlan:
    """The read statement over ``source`` (a table or the query as a subquery)."""
    exprs = [_expr(columns[n], t) if t is not None else columns[n] for n, t in types.items()]
    stmt = sa.select(*exprs).select_from(source)
    condition = None
    row_filter = request.row_filter
    if row_filter is not None:
        filtered = columns[row_filter.column]
        condition = row_filter.predicate(filtered, date_type, dialect)
        stmt = stmt.where(condition)
        if row_filter.ordered:
            stmt = stmt.order_by(filtered)
    planned = tuple(PlannedColumn(n, t, (comments or {}).get(n), n not in required)
                    for n, t in types.items())
    fingerprint, hashes = None, None
    if request.fingerprint is not None and isinstance(row_filter, DayWindow | DaySet):
        fingerprint = _fingerprint(dialect, request.fingerprint, row_filter, source, columns,
                                   list(types), date_type, condition, server)
        hashed = _row_hash(dialect, request.fingerprint, columns, list(types), server)
        if hashed is not None:
            stmt = stmt.add_columns(hashed.label(ROW_HASH))
            hashes = RowHashes(row_filter.column, row_filter.timezone, tuple(row_filter.days))
    return ReadPlan(stmt, planned, label, fit_check(source, columns, types, condition),
                    partition_column=request.partition_column, fingerprint=fingerprint,
                    row_hashes=hashes)


def _row_hash(dialect: Dialect, spec: FingerprintSpec,
              columns: Mapping[str, sa.ColumnElement[Any]], extracted: list[str],
              server: tuple[int, ...]) -> sa.ColumnElement[Any] | None:
    """Each row's hash over the covered columns, for a read that adds them up itself."""
    if not spec.in_rows or ROW_HASH in columns:
        return None
    return dialect.row_hash([columns[n] for n in spec.columns or extracted], server)


def _fingerprint(dialect: Dialect, spec: FingerprintSpec, window: DayWindow | DaySet,
                 source: sa.FromClause, columns: Mapping[str, sa.ColumnElement[Any]],
                 extracted: list[str], date_type: pa.DataType | None,
                 condition: sa.ColumnElement[bool] | None, server: tuple[int, ...] = ()
                 ) -> FingerprintPlan:
    """Each day's rows and checksum over the covered columns, in one query over the window:
    grouped by the database where it can hash, else the columns for the reader to hash."""
    names = list(spec.columns or extracted)
    missing = [n for n in names if n not in columns]
    if missing:
        raise SourceError(f"the fingerprint's column(s) {missing} are not columns of the "
                          f"source; it has {list(columns)}")
    covered = [columns[n] for n in names]
    date = columns[window.column]
    kind = _day_kind(date_type)
    start, end = (_utc(window.start, window.timezone), _utc(window.end, window.timezone))
    day = dialect.day_key(date, kind, window.timezone, start, end) if kind else None
    checksum = dialect.row_checksum(covered, server)
    stmt: sa.Select[Any]
    if day is not None and checksum is not None:
        stmt = sa.select(day.label(DAY_LABEL), sa.func.count().label(ROWS_LABEL),
                         checksum.label(CHECKSUM_LABEL)).select_from(source)
        stmt = stmt.group_by(sa.text("1"))
    else:
        stmt = sa.select(date, *covered).select_from(source)
    if condition is not None:
        stmt = stmt.where(condition)
    grouped = day is not None and checksum is not None
    return FingerprintPlan(stmt, grouped, tuple(window.days), window.timezone)


def _day_kind(arrow: pa.DataType | None) -> str | None:
    if arrow is None:
        return None
    if pa.types.is_date(arrow):
        return "date"
    if pa.types.is_timestamp(arrow):
        return "instant" if arrow.tz is not None else "naive"
    return None


def _utc(local: dt.datetime, timezone: str) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def _resolve(request: ExtractRequest, dialect: Dialect,
             described: Sequence[tuple[str, SaType | None]],
             what: str) -> dict[str, ColumnType | None]:
    """Each column's type: the pipeline's ``column_types`` choice, else the default mapping."""
    names = [n for n, _ in described]
    if request.partition_column is not None:
        clash = partition_clash(names, request.partition_column)
        if clash is not None:
            raise SourceError(partition_clash_message(clash, request.partition_column))
    choices = checked_choices(request, dict(described), what)
    return {name: (chosen_type(choices[name], dialect) if name in choices
                   else column_type(t, dialect) if t is not None else None)
            for name, t in described}


def _untyped_query_plan(dialect: Dialect, query: str, request: ExtractRequest) -> ReadPlan:
    """Dialects we do not describe: the query as written, filtered if the pipeline says so.

    Its columns are known when the rows arrive; the readers then apply the ``column_types``
    choices and the partition-column check (:mod:`etl.sources.convert`).
    """
    chosen = {name: chosen_type(choice, dialect)
              for name, choice in checked_choices(request, None, "the query").items()}
    part = request.partition_column
    row_filter = request.row_filter
    if row_filter is None:
        return ReadPlan(sa.text(escape_colons(query)), None, "query", chosen=chosen,
                        partition_column=part)
    column = sa.column(row_filter.column, dialect.untyped_date_type())
    sub = sa.text(escape_colons(query)).columns(column).subquery("q")
    condition = row_filter.predicate(sub.c[row_filter.column], None, dialect)
    stmt: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(sub).where(condition)
    if row_filter.ordered:
        stmt = stmt.order_by(sub.c[row_filter.column])
    fingerprint = None
    if request.fingerprint is not None and isinstance(row_filter, DayWindow | DaySet):
        covered = request.fingerprint.columns
        if covered:  # named columns of a query whose columns are known only when it runs
            sub = sa.text(escape_colons(query)).columns(
                column, *[sa.column(c) for c in covered if c != row_filter.column]
            ).subquery("q")
            condition = row_filter.predicate(sub.c[row_filter.column], None, dialect)
        names = dict(sub.c.items()) if covered else {row_filter.column: sub.c[row_filter.column],
                                                      "*": sa.literal_column("q.*")}
        fingerprint = _fingerprint(dialect, request.fingerprint, row_filter, sub, names,
                                   ["*"], None, condition)
    return ReadPlan(stmt, None, "query", chosen=chosen, partition_column=part,
                    fingerprint=fingerprint)


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
    if t.expression is not None:
        return t.expression(col).label(name)
    if t.cast is not None:
        return sa.cast(col, t.cast).label(name)
    if pa.types.is_floating(t.arrow):
        # MySQL DOUBLE reflects with asdecimal=True; read floats as floats, not Decimal.
        return sa.type_coerce(col, sa.Double()).label(name)
    return col


def _field(row_filter: object) -> str:
    """The config field naming a filter's column (``date_column``, ``cursor_column``)."""
    return str(getattr(row_filter, "field", "date_column"))


def _check_identifiers(request: ExtractRequest) -> None:
    filtered = request.row_filter.column if request.row_filter is not None else None
    names: list[tuple[str, str | None]] = [(_field(request.row_filter), filtered),
                                            ("db_schema", request.db_schema)]
    if request.table is not None:
        names += [("table", part) for part in request.table.split(".", 1)]
    names += [("column", c) for c in request.columns or ()]
    names += [("column_types", c) for c in request.column_types]
    for kind, value in names:
        if value is not None and (not IDENTIFIER.match(value) or len(value) > MAX_IDENTIFIER):
            raise SourceError(
                f"{kind} {value!r} is not a plain identifier: expected letters, digits, '_' "
                f"or '$', starting with a letter or '_', at most {MAX_IDENTIFIER} characters"
            )
