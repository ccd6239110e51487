"""What the readers deliver, turned into the planned Arrow types: exactly, or not at all.

Some columns are read in a form that loses nothing and converted in Arrow afterwards (see
:mod:`etl.sources.arrow_types`): a wide or unbounded decimal as the server's text, an interval
as ``'<months> <days> <microseconds>'`` text or a driver's duration. Conversions are Arrow's
*safe* casts: a value that does not fit its decimal type is never rounded; it fails the stage
with a message naming the column, the value and the two ways out. Both readers go through
:func:`convert_reader`, which also applies what an undescribed query could not have planned
(the ``column_types`` choices, the partition-column check) once its first rows have arrived.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from etl.naming import partition_clash, partition_clash_message
from etl.sources.errors import SourceError
from etl.sources.plan import ReadPlan
from etl.utils.logical_types import INTERVAL

_EXACT = decimal.Context(prec=100_000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
_TRAILING_ZEROS = r"(\.[0-9]*?)0+$"
_SHOWN_DIGITS = 80


def convert_reader(reader: pa.RecordBatchReader, plan: ReadPlan) -> pa.RecordBatchReader:
    """``reader``'s batches with the plan's final types and field metadata."""
    target = _target(reader.schema, plan)
    if target.equals(reader.schema, check_metadata=True):
        return reader
    return pa.RecordBatchReader.from_batches(target, _converted(reader, target))


def _target(delivered: pa.Schema, plan: ReadPlan) -> pa.Schema:
    if plan.partition_column is not None:
        clash = partition_clash(delivered.names, plan.partition_column)
        if clash is not None:
            raise SourceError(partition_clash_message(clash, plan.partition_column))
    planned = plan.schema
    if planned is not None:
        return planned
    chosen = {name: t.field(name) for name, t in plan.chosen.items()}
    missing = [n for n in chosen if n not in delivered.names]
    if missing:
        raise SourceError(f"column_types names column(s) {missing} that the query does not "
                          f"return; it returns {delivered.names}")
    return pa.schema([chosen.get(f.name, f) for f in delivered])


def _converted(reader: pa.RecordBatchReader, target: pa.Schema) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        columns = [convert_array(batch.column(i), field)
                   for i, field in enumerate(target)]
        yield pa.RecordBatch.from_arrays(columns, schema=target)


def convert_array(array: pa.Array, field: pa.Field) -> pa.Array:
    """One delivered column as ``field``'s type; raises SourceError instead of losing data."""
    typ = field.type
    if array.type == typ:
        return array
    if pa.types.is_decimal(typ):
        return to_decimal(array, typ, field.name)
    if typ == INTERVAL and pa.types.is_string(array.type):
        return interval_from_text(array)
    if typ == INTERVAL and pa.types.is_duration(array.type):
        return interval_from_duration(array)
    try:
        return pc.cast(array, typ, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise SourceError(f"column {field.name!r}: source values do not fit {typ}: {e}") from None


def to_decimal(array: pa.Array, target: pa.Decimal128Type, column: str) -> pa.Array:
    """Text (or a wider decimal) as ``target``; a value that does not fit raises."""
    source = array
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        # '1.500000000000000000000000000000' (MySQL prints every declared decimal) has more
        # digits than a decimal128 parses; its value needs only two.
        source = pc.replace_substring_regex(array, _TRAILING_ZEROS, r"\1")
        source = pc.replace_substring_regex(source, r"\.$", "")
    try:
        return pc.cast(source, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        value = first_misfit(array.to_pylist(), target)
        raise SourceError(misfit_message(column, value or "?", target)) from None


def first_misfit(values: Iterable[object], target: pa.Decimal128Type) -> str | None:
    """The first value (as text) that is not a number ``target`` holds exactly."""
    for value in values:
        if value is not None and not fits(str(value), target):
            return str(value)
    return None


def fits(text: str, target: pa.Decimal128Type) -> bool:
    try:
        number = _EXACT.create_decimal(text.strip())
    except decimal.InvalidOperation:
        return False
    if not number.is_finite():
        return False
    scaled = _EXACT.scaleb(number, target.scale)
    limit = _EXACT.power(10, target.precision - target.scale)
    return scaled == _EXACT.to_integral_value(scaled) and _EXACT.abs(number) < limit


def misfit_message(column: str, value: str, target: pa.Decimal128Type) -> str:
    """The documented message: column, value, type, and the two ways out."""
    value = re.sub(r"\.$", "", re.sub(_TRAILING_ZEROS, r"\1", value)) if "." in value else value
    shown = value if len(value) <= _SHOWN_DIGITS else f"{value[:_SHOWN_DIGITS]}... ({len(value)}"
    shown += "" if len(value) <= _SHOWN_DIGITS else " characters)"
    before = target.precision - target.scale
    return (
        f"column {column!r}: the source value {shown} does not fit decimal({target.precision},"
        f"{target.scale}) (at most {before} digits before the point and {target.scale} after), "
        "and the extractor never rounds. Choose the column's type in the pipeline, "
        f"column_types: {{{column}: '{suggestion(value)}'}} ('string' keeps the source's exact "
        f"text), or cast it in the pipeline's query, e.g. CAST({column} AS DECIMAL(38,"
        f"{target.scale})), which rounds on purpose"
    )


def suggestion(value: str) -> str:
    """A type that holds ``value`` exactly: a 38-digit decimal if one does, else string."""
    try:
        number = _EXACT.create_decimal(value.strip())
    except decimal.InvalidOperation:
        return "string"
    if not number.is_finite():
        return "string"
    normal = number.normalize(_EXACT).as_tuple()
    scale = max(0, -int(normal.exponent))
    integer = max(0, len(normal.digits) + int(normal.exponent))
    return f"decimal(38,{scale})" if integer + scale <= 38 else "string"


def interval_from_text(array: pa.Array) -> pa.Array:
    """``'<months> <days> <microseconds>'`` (see ``Dialect.interval_text``) as the struct."""
    parts = pc.split_pattern(array, " ")
    fields = [pc.cast(pc.list_element(parts, i), f.type) for i, f in enumerate(INTERVAL)]
    return _interval(fields, array)


def interval_from_duration(array: pa.Array) -> pa.Array:
    """A driver's timedelta (generic dialects): its days and the rest, months 0."""
    rows = [None if d is None else {"months": 0, "days": d.days,
                                    "microseconds": d.seconds * 1_000_000 + d.microseconds}
            for d in array.to_pylist()]
    return pa.array(rows, INTERVAL)


def _interval(fields: list[pa.Array], original: pa.Array) -> pa.Array:
    return pa.StructArray.from_arrays(fields, fields=list(INTERVAL),
                                      mask=pc.is_null(original))
