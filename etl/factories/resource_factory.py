"""Resources for one tenant, with secrets as ``dg.EnvVar`` so nothing is read at load time."""

from __future__ import annotations

from typing import Any

import dagster as dg

from etl import naming
from etl.config.tenant_config import DuckDBWarehouseConfig, TenantConfig
from etl.resources.duckdb import DuckDBWarehouseResource
from etl.resources.rdb import SourceDatabaseResource
from etl.resources.s3 import StorageResource
from etl.resources.trino import TrinoResource


def _env(name: str | None) -> Any:
    return dg.EnvVar(name) if name else None


def build_resources(config: TenantConfig) -> dict[str, Any]:
    tenant = config.tenant.id
    src = config.source
    store = config.storage
    wh = config.warehouse
    warehouse: Any
    if isinstance(wh, DuckDBWarehouseConfig):
        warehouse = DuckDBWarehouseResource(path=wh.path, schema_name=wh.schema_name or tenant)
    else:
        from etl.resources.trino_warehouse import TrinoWarehouseResource

        warehouse = TrinoWarehouseResource(
            trino=TrinoResource(
                host=wh.host, port=wh.port, user=wh.user, http_scheme=wh.http_scheme,
                password=_env(wh.password_env), jwt=_env(wh.jwt_env), catalog=wh.catalog,
                iceberg_catalog=wh.iceberg_catalog, schema_name=wh.schema_name or tenant,
                default_load_mode=wh.default_load_mode,
            ),
        )
    return {
        naming.resource_key(tenant, "source"): SourceDatabaseResource(
            url=src.url if src.url is not None else dg.EnvVar(src.url_env or ""),
            password=_env(src.password_env),
            db_schema=src.db_schema,
            engine=src.engine,
            batch_size=src.batch_size,
            timezone=config.schedule.timezone,
        ),
        naming.resource_key(tenant, "storage"): StorageResource(
            root=store.root,
            endpoint_url=store.endpoint_url,
            region=store.region,
            path_style=store.path_style,
            access_key=_env(store.access_key_env),
            secret_key=_env(store.secret_key_env),
            compression=store.compression,
        ),
        naming.resource_key(tenant, "warehouse"): warehouse,
    }
