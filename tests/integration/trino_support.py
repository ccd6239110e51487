"""Helpers the Trino tests share: a throwaway schema, the loader and lake a tenant would get."""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Iterator
from typing import Any

from etl.resources.s3 import StorageResource
from etl.warehouse.base import LoadMode
from etl.warehouse.trino import TrinoWarehouseConfig
from etl.warehouse.trino.loader import TrinoWarehouse
from tests.helpers import storage_resource
from tools.services.base import Service
from tools.services.s3 import S3Bucket
from tools.services.trino import query


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def fresh_schema(trino: Service, bucket: S3Bucket) -> Iterator[str]:
    """A new Trino schema in both catalogs (Iceberg files in ``bucket``), dropped afterwards."""
    name = unique("it_")
    query(trino, f"CREATE SCHEMA iceberg.{name} "
                 f"WITH (location = 's3://{bucket.bucket}/warehouse/{name}')")
    try:
        yield name
    finally:
        for catalog in ("hive", "iceberg"):
            with contextlib.suppress(Exception):
                relations = query(trino, f"SELECT table_name, table_type FROM {catalog}."
                                         f"information_schema.tables WHERE table_schema = "
                                         f"'{name}'")
                for table, kind in sorted(relations, key=lambda r: r[1] != "VIEW"):
                    what = "VIEW" if kind == "VIEW" else "TABLE"
                    query(trino, f'DROP {what} IF EXISTS {catalog}.{name}."{table}"')
                query(trino, f"DROP SCHEMA IF EXISTS {catalog}.{name}")


def trino_loader(host: str, port: int, schema: str, password: str | None = None,
                 **config: Any) -> TrinoWarehouse:
    """The loader a tenant with ``warehouse: {type: trino, ...}`` gets, secret given as value."""
    resource = TrinoWarehouseConfig(type="trino", host=host, port=port, **config).build_resource(
        schema)
    if password is not None:
        resource = resource.model_copy(update={"trino": resource.trino.model_copy(
            update={"password": password})})
    return resource.warehouse()


def bucket_storage(bucket: S3Bucket) -> StorageResource:
    return storage_resource(
        f"s3://{bucket.bucket}/lake", endpoint_url=bucket.endpoint_url, region=bucket.region,
        path_style=True, access_key=bucket.access_key, secret_key=bucket.secret_key,
    )


def catalog(mode: LoadMode) -> str:
    return "iceberg" if mode == "iceberg" else "hive"


def column_types(trino: Service, mode: LoadMode, schema: str, table: str) -> dict[str, str]:
    rows = query(trino, f"SELECT column_name, data_type FROM {catalog(mode)}.information_schema"
                        f".columns WHERE table_schema = '{schema}' AND table_name = '{table}' "
                        "ORDER BY ordinal_position")
    return {str(r[0]): str(r[1]) for r in rows}
