"""The generic reader: any SQLAlchemy dialect, streamed with a server-side cursor.

This is the path for SQLite (the embedded default) and for dialects without a faster reader
(MSSQL, Oracle, ...), and the fallback for PostgreSQL/MySQL (``engine: sqlalchemy``). Rows are
fetched ``batch_size`` at a time and turned into Arrow batches, so memory is bounded by the
batch, not the table. The schema comes from the plan (the same one the DuckDB reader uses);
only queries on dialects we do not describe infer it from the first batch.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.sources.arrow_types import DEFAULT_DECIMAL
from etl.sources.base import SourceRead
from etl.sources.convert import first_misfit, misfit_message
from etl.sources.dialects.registry import dialect_for
from etl.sources.errors import SourceError, describe_db_error, where
from etl.sources.fingerprint import Fingerprints, TakenFingerprints
from etl.sources.plan import ReadPlan
from etl.sources.prefetch import Prefetcher
from etl.sources.stall import stalled
from etl.utils.live_work import LiveWork


@contextmanager
def open_sqlalchemy_reader(
    engine: Engine, plan: ReadPlan, batch_size: int, secret: str | None = None, *,
    read_timeout_s: float | None = None, abort: Callable[[], object] | None = None,
    live: LiveWork | None = None,
) -> Iterator[SourceRead]:
    """Yield the read over ``plan`` (and its fingerprints); cursor and connection close on exit.

    Closing explicitly matters when the consumer fails mid-stream: otherwise the server-side
    cursor stays open ("idle in transaction") until the generator is garbage-collected. Rows
    are fetched on a thread one batch ahead; a batch that takes longer than
    ``read_timeout_s`` fails the read, after ``abort`` cut the engine's connections off
    (:mod:`etl.sources.stall`).

    A plan with a fingerprint query runs it first, on that thread and the read's connection:
    in the transaction the dialect opens as one snapshot (PostgreSQL REPEATABLE READ, MySQL's
    consistent snapshot, SQLite's read transaction) it cannot disagree with the rows;
    elsewhere it runs again after the last row, and the days whose fingerprint moved are
    changing. The first batch is then waited for before the read is handed out, so the
    fingerprints' kind is known by then.
    """
    taken = TakenFingerprints() if plan.fingerprint is not None else None
    ahead = Prefetcher(_batches(engine, plan, batch_size, secret, taken), depth=1,
                       timeout_s=read_timeout_s, interrupt=abort,
                       stalled=lambda: stalled(f"reading {plan.label!r} from "
                                               f"{where(engine.url)}", read_timeout_s or 0))
    try:
        with live.running(ahead.abort) if live is not None else nullcontext():
            batches: Iterator[pa.RecordBatch] = iter(ahead)
            schema = plan.read_schema
            if schema is None or taken is not None:  # the schema, or the fingerprints first
                first = next(batches)
                schema = schema or first.schema
                batches = itertools.chain([first], batches)
            yield SourceRead(pa.RecordBatchReader.from_batches(schema, batches), taken)
    finally:
        ahead.close()  # the thread closes the cursor and the connection


def _batches(
    engine: Engine, plan: ReadPlan, batch_size: int, secret: str | None,
    taken: TakenFingerprints | None = None,
) -> Generator[pa.RecordBatch, None, None]:
    try:
        with engine.connect().execution_options(
            stream_results=True, yield_per=batch_size
        ) as conn:
            if taken is not None:
                taken.consistent = dialect_for(engine.url).begin_snapshot(conn)
                taken.before = _fingerprints(conn, plan, secret)
            result = conn.execute(plan.statement)
            names = list(result.keys())
            schema = plan.read_schema
            empty = True
            for rows in result.partitions(batch_size):
                columns = list(zip(*rows, strict=True))
                if schema is None:
                    schema = _infer_schema(names, columns, plan)
                yield _to_batch(columns, schema)
                empty = False
            if empty:
                schema = schema or _infer_schema(names, [() for _ in names], plan)
                yield _to_batch([() for _ in names], schema)
            if taken is not None and not taken.consistent:
                taken.after = _fingerprints(conn, plan, secret)
    except sa.exc.SQLAlchemyError as e:
        # from None: the chained driver error may echo SQL and connection details.
        cause = describe_db_error(e, secret)
        raise SourceError(f"reading {plan.label!r} failed: {cause}") from None


def _fingerprints(conn: sa.Connection, plan: ReadPlan, secret: str | None) -> Fingerprints:
    fingerprint = plan.fingerprint
    assert fingerprint is not None
    try:
        return fingerprint.collect(conn.execute(fingerprint.statement))
    except sa.exc.SQLAlchemyError as e:
        cause = describe_db_error(e, secret)
        raise SourceError(f"the fingerprint of {plan.label!r} failed: {cause}") from None


def _to_batch(columns: Sequence[Sequence[Any]], schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [_to_array(values, field) for values, field in zip(columns, schema, strict=True)],
        schema=schema,
    )


def _to_array(values: Sequence[Any], field: pa.Field) -> pa.Array:
    try:
        return pa.array(values, type=field.type)
    except (pa.ArrowTypeError, pa.ArrowInvalid) as e:
        if pa.types.is_string(field.type):  # UUID, JSON, ... objects of undescribed dialects
            return pa.array(_to_text(values), type=field.type)
        if pa.types.is_boolean(field.type):  # MySQL BIT(1) arrives as 0/1
            return pa.array([None if v is None else bool(v) for v in values], type=field.type)
        if pa.types.is_decimal(field.type):  # never rounded: the value and the ways out
            value = first_misfit(values, field.type)
            if value is not None:
                raise SourceError(misfit_message(field.name, value, field.type)) from None
        raise SourceError(
            f"column {field.name!r}: source values do not fit {field.type}: {e}"
        ) from None


def _infer_schema(names: list[str], columns: list[tuple[Any, ...]], plan: ReadPlan) -> pa.Schema:
    known = {c.name: c.type.delivered for c in plan.columns or () if c.type is not None}
    known.update({name: t.delivered for name, t in plan.chosen.items()})
    fields = []
    for name, values in zip(names, columns, strict=True):
        typ = known.get(name) or _infer_type(values)
        fields.append(pa.field(name, typ))
    return pa.schema(fields)


def _infer_type(values: Sequence[Any]) -> pa.DataType:
    try:
        typ = pa.array(values).type
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.string()
    if pa.types.is_null(typ):
        return pa.string()
    if pa.types.is_timestamp(typ) and typ.unit == "ns":
        return pa.timestamp("us", tz=typ.tz)
    if pa.types.is_decimal(typ):  # later batches may need more digits than the first
        scale = max(typ.scale, DEFAULT_DECIMAL.scale)
        return pa.decimal128(DEFAULT_DECIMAL.precision, scale)
    return typ


def _to_text(values: Sequence[Any]) -> list[str | None]:
    return [
        None if v is None else (json.dumps(v) if isinstance(v, dict | list) else str(v))
        for v in values
    ]
