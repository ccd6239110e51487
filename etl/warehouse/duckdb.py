"""The embedded warehouse kind: a DuckDB file, the demo's and the laptop's default.

Config (``warehouse.type: duckdb``), resource and loader of this kind; the loader itself is in
:mod:`etl.warehouse.duckdb_loader`, imported when a run loads, not when a code location lists
its assets.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from etl.warehouse.base import WarehouseConfigBase, WarehouseResource

if TYPE_CHECKING:
    from etl.warehouse.duckdb_loader import DuckDBWarehouse


class DuckDBWarehouseResource(WarehouseResource):
    """Loads into one schema of a DuckDB file."""

    path: str = Field(description="DuckDB database file.")
    schema_name: str = Field(description="Schema holding the tenant's tables.")

    def warehouse(self) -> DuckDBWarehouse:
        from etl.warehouse.duckdb_loader import DuckDBWarehouse

        return DuckDBWarehouse(self.path, self.schema_name)


class DuckDBWarehouseConfig(WarehouseConfigBase):
    type: Literal["duckdb"] = Field(description="Embedded DuckDB file.")
    path: str = Field(
        default=".etl/warehouse.duckdb",
        description="DuckDB database file (relative to the working directory).",
    )

    asset_kind: ClassVar[str] = "duckdb"
    example: ClassVar[dict[str, Any]] = {"type": "duckdb", "path": ".etl/warehouse.duckdb"}

    def build_resource(self, tenant: str) -> DuckDBWarehouseResource:
        return DuckDBWarehouseResource(path=self.path, schema_name=self.schema_for(tenant))

    def target(self, tenant: str) -> tuple[str, ...]:
        return ("duckdb", str(Path(self.path).resolve()), self.schema_for(tenant))

    def describe(self, tenant: str) -> str:
        return f"{Path(self.path).resolve()} (schema {self.schema_for(tenant)})"
