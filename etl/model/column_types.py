"""``column_types:``: a pipeline's own choice of Parquet type for some source columns.

The extractor never rounds or truncates on its own: a value that does not fit the type it
chose (an unbounded ``numeric`` becomes ``decimal(38,9)``) fails the stage. This is where a
pipeline says what it wants instead: ``decimal(p,s)`` (the value must still fit exactly) or
``string`` (the source's own text, always exact).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Final

from pydantic import AfterValidator

MAX_PRECISION: Final = 38
_SPEC: Final = re.compile(r"^\s*(?:(string)|decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\))\s*$",
                          re.IGNORECASE)
ALLOWED: Final = f"'string' or 'decimal(p,s)' with 1 <= p <= {MAX_PRECISION} and 0 <= s <= p"


@dataclass(frozen=True)
class ColumnTypeChoice:
    """A parsed ``column_types`` value: text, or a decimal of this precision and scale."""

    precision: int | None = None  # None: string
    scale: int = 0

    @property
    def is_text(self) -> bool:
        return self.precision is None

    def __str__(self) -> str:
        return "string" if self.precision is None else f"decimal({self.precision},{self.scale})"


def parse_column_type(spec: str) -> ColumnTypeChoice | None:
    """The choice ``spec`` names, or None when it is not one of :data:`ALLOWED`."""
    found = _SPEC.match(spec)
    if found is None:
        return None
    if found.group(1):
        return ColumnTypeChoice()
    precision, scale = int(found.group(2)), int(found.group(3))
    if not 1 <= precision <= MAX_PRECISION or scale > precision:
        return None
    return ColumnTypeChoice(precision, scale)


def _canonical(spec: str) -> str:
    choice = parse_column_type(spec)
    if choice is None:
        raise ValueError(f"{spec!r} is not a column type; use {ALLOWED}")
    return str(choice)


ColumnTypeSpec = Annotated[str, AfterValidator(_canonical)]
