"""The generic reader: any SQLAlchemy dialect, streamed with a server-side cursor.

This is the path for SQLite (the embedded default) and for dialects without a faster reader
(MSSQL, Oracle, ...). Rows are fetched ``batch_size`` at a time and turned into Arrow batches,
so memory is bounded by the batch, not the table.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.sources.arrow_types import arrow_type, needs_text_conversion
from etl.sources.base import ExtractRequest, SourceError


def read_sqlalchemy(engine: Engine, request: ExtractRequest) -> pa.RecordBatchReader:
    statement, schema, converters = _statement(engine, request)
    batches = _batches(engine, statement, schema, converters, request)
    if schema is None:
        # A query's types are known only from its rows: peek at the first batch.
        first = next(batches)
        schema = first.schema
        batches = itertools.chain([first], batches)
    return pa.RecordBatchReader.from_batches(schema, batches)


def _statement(
    engine: Engine, request: ExtractRequest
) -> tuple[sa.Executable, pa.Schema | None, list[bool]]:
    if request.table is not None:
        schema_name, _, name = request.table.rpartition(".")
        metadata = sa.MetaData()
        try:
            table = sa.Table(
                name, metadata, autoload_with=engine, schema=schema_name or request.db_schema
            )
        except sa.exc.NoSuchTableError as e:
            raise SourceError(f"table {request.table!r} does not exist in the source") from e
        cols = list(table.columns)
        if request.columns is not None:
            missing = [c for c in request.columns if c not in table.columns]
            if missing:
                raise SourceError(
                    f"column(s) {missing} do not exist in table {request.table!r}; "
                    f"it has {[c.name for c in cols]}"
                )
            cols = [table.columns[c] for c in request.columns]
        stmt: Any = sa.select(*cols)
        if request.window is not None and request.date_column is not None:
            if request.date_column not in table.columns:
                raise SourceError(
                    f"date_column {request.date_column!r} does not exist in table "
                    f"{request.table!r}"
                )
            date_col = table.columns[request.date_column]
            start, end = _window_params(engine, request.window, date_col.type)
            stmt = stmt.where(date_col >= start, date_col < end)
        fields = [pa.field(c.name, arrow_type(c.type)) for c in cols]
        converters = [
            needs_text_conversion(f.type, c.type) for f, c in zip(fields, cols, strict=True)
        ]
        return stmt, pa.schema(fields), converters
    assert request.query is not None
    sql = request.query
    params: dict[str, Any] = {}
    if request.window is not None and request.date_column is not None:
        quoted = engine.dialect.identifier_preparer.quote(request.date_column)
        sql = f"SELECT * FROM ({request.query}) q WHERE q.{quoted} >= :start AND q.{quoted} < :end"
        start, end = request.window
        if engine.dialect.name == "sqlite":
            params = {"start": start.date().isoformat(), "end": end.date().isoformat()}
        else:
            params = {"start": start, "end": end}
    return sa.text(sql).bindparams(**params), None, []


def _window_params(
    engine: Engine, window: tuple[dt.datetime, dt.datetime], col_type: Any
) -> tuple[Any, Any]:
    start, end = window
    if isinstance(col_type, sa.Date) and not isinstance(col_type, sa.DateTime):
        return start.date(), end.date()
    return start, end


def _batches(
    engine: Engine,
    statement: sa.Executable,
    schema: pa.Schema | None,
    converters: list[bool],
    request: ExtractRequest,
) -> Iterator[pa.RecordBatch]:
    try:
        with engine.connect().execution_options(
            stream_results=True, yield_per=request.batch_size
        ) as conn:
            result = conn.execute(statement)
            names = list(result.keys())
            inferred = schema
            for rows in result.partitions(request.batch_size):
                columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
                if inferred is None:
                    inferred = _infer_schema(names, columns)
                arrays = [
                    pa.array(_to_text(col) if conv else col, type=field.type)
                    for col, field, conv in zip(
                        columns, inferred, converters or [False] * len(names), strict=True
                    )
                ]
                yield pa.RecordBatch.from_arrays(arrays, schema=inferred)
            if inferred is None:
                empty = pa.schema([pa.field(n, pa.string()) for n in names])
                yield pa.RecordBatch.from_pylist([], schema=empty)
    except sa.exc.SQLAlchemyError as e:
        raise SourceError(_describe(e)) from None


def _infer_schema(names: list[str], columns: list[tuple[Any, ...]]) -> pa.Schema:
    fields = []
    for name, values in zip(names, columns, strict=True):
        typ = pa.array(values).type
        if pa.types.is_null(typ):
            typ = pa.string()
        elif pa.types.is_timestamp(typ) and typ.unit == "ns":
            typ = pa.timestamp("us", tz=typ.tz)
        fields.append(pa.field(name, typ))
    return pa.schema(fields)


def _to_text(values: tuple[Any, ...]) -> list[str | None]:
    return [
        None if v is None else (json.dumps(v) if isinstance(v, dict | list) else str(v))
        for v in values
    ]


def _describe(error: sa.exc.SQLAlchemyError) -> str:
    """The driver's own message without the SQL echo, parameters or connection URL."""
    orig = getattr(error, "orig", None)
    text = str(orig) if orig is not None else type(error).__name__
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
