"""The Trino warehouse as a Dagster resource.

It only adds the warehouse behaviour to the connection settings of ``TrinoResource`` (nested,
so the password/JWT stay ``dg.EnvVar`` values read when a run starts). Where the Parquet files
live is Trino's business: the S3 endpoint and keys are properties of the server's catalogs.
"""

from __future__ import annotations

from typing import get_args

import dagster as dg
from pydantic import Field

from etl.resources.trino import TrinoResource
from etl.warehouse.base import LoadMode, LoadRequest, LoadResult, WarehouseError
from etl.warehouse.trino import TrinoWarehouse


class TrinoWarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Loads Parquet from the lake into Hive external or Iceberg tables of one Trino schema."""

    trino: TrinoResource = Field(description="Connection settings of the tenant's Trino.")

    def warehouse(self) -> TrinoWarehouse:
        t = self.trino
        mode = t.default_load_mode
        if mode not in get_args(LoadMode):
            raise WarehouseError(
                f"default_load_mode {mode!r} is not one of {list(get_args(LoadMode))}"
            )
        return TrinoWarehouse(
            lambda: t.connect(),
            address=f"{t.http_scheme}://{t.host}:{t.port}",
            catalog=t.catalog,
            iceberg_catalog=t.iceberg_catalog,
            schema=t.schema_name,
            default_mode=mode,  # type: ignore[arg-type]  # checked against LoadMode above
            secrets=(t.password, t.jwt),
        )

    def load(self, request: LoadRequest) -> LoadResult:
        return self.warehouse().load(request)

    def count_rows(self, tenant: str, table: str, partition_key: str | None,
                   mode: LoadMode | None) -> int:
        return self.warehouse().count_rows(tenant, table, partition_key, mode)
