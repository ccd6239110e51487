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
from etl.warehouse.duckdb_limits import LOAD_MEMORY_LIMIT, MERGE_MEMORY_LIMIT

if TYPE_CHECKING:
    from etl.warehouse.duckdb_loader import DuckDBWarehouse


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
    memory_limit: str | None = Field(
        default=None,
        description=(
            "DuckDB's memory_limit while writing (e.g. 128MB, 2GB). Default "
            f"{LOAD_MEMORY_LIMIT} for loads, whose rows past it are written to the file as "
            f"they come, so years of history load in bounded memory; {MERGE_MEMORY_LIMIT} for "
            "an incremental pipeline's merge, whose comparison of the source's keys with the "
            "table's holds the keys in memory."
        ),
    )

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        return None if value is None else checked_size(value, "'128MB' or '2GB'")

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
