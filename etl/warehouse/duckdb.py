"""The embedded warehouse kind: a DuckDB file, the demo's and the laptop's default.

Config (``warehouse.type: duckdb``), resource and loader of this kind; the loader itself is in
:mod:`etl.warehouse.duckdb_loader`, imported when a run loads, not when a code location lists
its assets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from etl.model.base import FieldProblem
from etl.model.sizes import checked_size
from etl.warehouse.base import LoadMode, WarehouseConfigBase, WarehouseResource

if TYPE_CHECKING:
    from etl.warehouse.duckdb_loader import DuckDBWarehouse

# On the 2,000-day bench history (5M rows, ad hoc, one run each) the load took 2.17-2.19 s under
# 64 MB, 96 MB and 128 MB alike, and the run's peak RSS was 456, 493 and 532 MiB; 128 MB had
# loaded as fast as DuckDB's default limit (80% of RAM) with about a third of the memory.
DEFAULT_MEMORY_LIMIT = "64MB"


class DuckDBWarehouseResource(WarehouseResource):
    """Loads into one schema of a DuckDB file."""

    path: str = Field(description="DuckDB database file.")
    schema_name: str = Field(description="Schema holding the tenant's tables.")
    memory_limit: str | None = Field(default=None, description="DuckDB memory_limit of a load.")

    def warehouse(self) -> DuckDBWarehouse:
        from etl.warehouse.duckdb_loader import DuckDBWarehouse

        return DuckDBWarehouse(self.path, self.schema_name, self.memory_limit)


class DuckDBWarehouseConfig(WarehouseConfigBase):
    type: Literal["duckdb"] = Field(description="Embedded DuckDB file.")
    path: str = Field(
        default=".etl/warehouse.duckdb",
        description="DuckDB database file (relative to the working directory).",
    )
    memory_limit: str = Field(
        default=DEFAULT_MEMORY_LIMIT,
        description=(
            "DuckDB's memory_limit while loading (e.g. 128MB, 2GB): the rows of a load past "
            "it are written to the file as they come, so years of history load in bounded "
            "memory."
        ),
    )

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        return checked_size(value, "'128MB' or '2GB'")

    asset_kind: ClassVar[str] = "duckdb"
    example: ClassVar[dict[str, Any]] = {"type": "duckdb", "path": ".etl/warehouse.duckdb"}

    def merge_refusal(self, mode: LoadMode | None) -> str | None:
        return None  # one DELETE and one INSERT by key, in one transaction

    def build_resource(self, tenant: str) -> DuckDBWarehouseResource:
        return DuckDBWarehouseResource(path=self.path, schema_name=self.schema_for(tenant),
                                       memory_limit=self.memory_limit)

    def target(self, tenant: str) -> tuple[str, ...]:
        return ("duckdb", str(Path(self.path).resolve()), self.schema_for(tenant))

    def describe(self, tenant: str) -> str:
        return f"{Path(self.path).resolve()} (schema {self.schema_for(tenant)})"

    def local_files(self) -> dict[str, Path]:
        return {"path": Path(self.path).resolve()}

    def probe(self, tenant: str, modes: frozenset[LoadMode | None], timeout_s: float,
              ) -> list[FieldProblem]:
        """The file opens (read-only), or its folder can be created and written."""
        path = Path(self.path).resolve()
        if path.exists():
            import duckdb

            try:
                duckdb.connect(str(path), read_only=True).close()
            except duckdb.Error as e:
                text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                return [FieldProblem(("warehouse", "path"), f"cannot open {path}: {text}")]
            return []
        folder = next(p for p in path.parents if p.exists())
        if not (folder.is_dir() and os.access(folder, os.W_OK)):
            return [FieldProblem(("warehouse", "path"), (
                f"cannot create {path}: {folder} is not a writable folder"))]
        return []
