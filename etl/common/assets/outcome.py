"""What a stage reports back, turned into Dagster metadata in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class DayResult:
    """One day of a stage (``day`` None: master data): its outcome, or why it failed."""

    day: str | None
    outcome: StageOutcome | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class StageOutcome:
    rows: int
    uri: str
    seconds: float
    schema: pa.Schema | None = None
    bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "dagster/row_count": self.rows,
            "path": dg.MetadataValue.path(self.uri),
            "duration_s": round(self.seconds, 3),
        }
        if self.bytes is not None:
            meta["bytes"] = self.bytes
        if self.schema is not None:
            meta["dagster/column_schema"] = table_schema(self.schema)
        meta.update(self.extra)
        return meta


def table_schema(schema: pa.Schema) -> dg.TableSchema:
    from etl.utils.logical_types import describe, enum_values

    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=f.name, type=describe(f),  # "string (uuid)": what the text holds
                constraints=dg.TableColumnConstraints(nullable=f.nullable, other=[
                    f"one of {list(values)}" for values in [enum_values(f)] if values]),
            )
            for f in schema
        ]
    )
