"""The embedded warehouse resource (a DuckDB file)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

if TYPE_CHECKING:  # DuckDB is imported by runs, not by every code location
    from etl.warehouse.base import LoadMode, LoadRequest, LoadResult
    from etl.warehouse.duckdb import DuckDBWarehouse


class DuckDBWarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Loads into one schema of a DuckDB file; the demo's and laptop default."""

    path: str = Field(description="DuckDB database file.")
    schema_name: str = Field(description="Schema holding the tenant's tables.")

    def warehouse(self) -> DuckDBWarehouse:
        from etl.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(self.path, self.schema_name)

    def load(self, request: LoadRequest) -> LoadResult:
        return self.warehouse().load(request)

    def count_rows(self, tenant: str, table: str, partition_key: str | None,
                   mode: LoadMode | None) -> int:
        return self.warehouse().count_rows(tenant, table, partition_key, mode)
