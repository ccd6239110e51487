"""A pipeline's ``column_types`` choices, checked against the columns the source returns.

A choice is refused before anything is read when it cannot work: a column the source does not
return, the date column (it assigns rows to days), or a decimal for a column that is not an exact
number (a decimal is read as the server's text and checked for fit in the source, which needs a
numeric column; cast other columns in a query).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.sql import sqltypes

from etl.model.column_types import ALLOWED, ColumnTypeChoice, parse_column_type
from etl.sources.base import ExtractRequest
from etl.sources.dialects.base import SaType
from etl.sources.errors import SourceError


def checked_choices(request: ExtractRequest, types: Mapping[str, SaType | None] | None,
                    what: str) -> dict[str, ColumnTypeChoice]:
    """The parsed choices; ``types`` are the source's columns (None: not known before rows)."""
    choices: dict[str, ColumnTypeChoice] = {}
    for name, spec in request.column_types.items():
        choice = parse_column_type(spec)
        if choice is None:
            raise SourceError(f"column_types: {name}: {spec!r} is not a column type; use {ALLOWED}")
        choices[name] = choice
    date = request.row_filter.column if request.row_filter is not None else None
    if date is not None and date in choices:
        raise SourceError(
            f"column_types: the date_column {date!r} keeps its type (it assigns rows to days); "
            "cast it in a query instead"
        )
    if types is None:
        return choices
    missing = [n for n in choices if n not in types]
    if missing:
        raise SourceError(
            f"column_types names column(s) {missing} that {what} does not return; it returns "
            f"{list(types)}"
        )
    for name, choice in choices.items():
        source = types[name]
        exact = isinstance(source, sqltypes.Integer) or (
            isinstance(source, sqltypes.Numeric) and not isinstance(source, sqltypes.Float))
        if not choice.is_text and not exact:
            raise SourceError(
                f"column_types: {name}: {choice} applies to exact numeric columns, and {name!r} "
                f"is {_spelled(source)}; cast it to a number in a query instead"
            )
    return choices


def _spelled(t: SaType | None) -> str:
    if t is None or isinstance(t, sqltypes.NullType):
        return "of a type the source does not describe"
    return f"a {t.__visit_name__} column"
