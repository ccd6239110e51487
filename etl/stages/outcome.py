"""What a stage reports back, turned into Dagster metadata in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import dagster as dg

from etl import naming

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class DayResult:
    """One day of a stage (``day`` None: master data): its outcome, or why it failed."""

    day: str | None
    outcome: StageOutcome | None = None
    error: BaseException | None = None


ROW_COUNT: Final = naming.ROW_COUNT
BYTES: Final = "bytes"


@dataclass(frozen=True)
class StageOutcome:
    """What a stage wrote: rows, the lake file (``uri``) and, for a load, the ``table``.

    An extract or transfer's ``uri`` is the file it wrote (``dagster/uri``); a load's is the
    file it read (``read_from``), and the table it wrote is ``dagster/table_name``, so the two
    are never confused.
    """

    rows: int
    uri: str
    seconds: float
    schema: pa.Schema | None = None
    bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    table: str | None = None

    def metadata(self, with_schema: bool = True) -> dict[str, Any]:
        meta: dict[str, Any] = {ROW_COUNT: self.rows}
        if self.table is None:
            meta["dagster/uri"] = lake_uri(self.uri)
        else:
            meta["dagster/table_name"] = self.table
            meta["read_from"] = lake_uri(self.uri)
        meta["duration_s"] = round(self.seconds, 3)
        if self.bytes is not None:
            meta[BYTES] = self.bytes  # a number, for the metadata plots
            meta["size"] = readable_size(self.bytes)
        if self.schema is not None and with_schema:
            meta["dagster/column_schema"] = table_schema(self.schema)
        meta.update(self.extra)
        return meta


def lake_uri(location: str) -> str:
    """``s3://...`` as it is; a local path as a ``file://`` URI."""
    if "://" in location:
        return location
    # The lake's paths are absolute below its resolved root, checked for links where they were
    # made (StorageResource.path): normalizing is enough. Resolving again took a dozen lstat
    # calls a day file, each a wait for the GIL while other pipelines run.
    # As the folders are named: '=' of dt=YYYY-MM-DD is allowed in a URI path, unescaped.
    return "file://" + quote(os.path.abspath(location), safe="/=")


def readable_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def table_schema(schema: pa.Schema) -> dg.TableSchema:
    """The columns with their types, nullability, enum labels and, where the source had one,
    comment."""
    from etl.utils.logical_types import describe, enum_values

    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=f.name, type=describe(f),  # "string (uuid)": what the text holds
                description=_comment(f),
                constraints=dg.TableColumnConstraints(nullable=f.nullable, other=[
                    f"one of {list(values)}" for values in [enum_values(f)] if values]),
            )
            for f in schema
        ]
    )


def _comment(f: pa.Field) -> str | None:
    comment = (f.metadata or {}).get(b"comment")
    return comment.decode("utf-8", errors="replace") if comment else None
