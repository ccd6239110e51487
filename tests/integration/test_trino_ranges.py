"""Range loads into a real Trino 476, both modes: what day-by-day loads give, in a number of
statements that does not grow with the days.

Each test writes day files to its own bucket (the `s3_bucket` fixture) and loads them into its
own schema, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from etl import naming
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.s3 import StorageResource
from etl.stages.load import run_load
from etl.utils.days import day_range
from etl.warehouse.base import LoadMode, Warehouse
from etl.warehouse.trino import TrinoWarehouseConfig
from tests.helpers import storage_resource
from tools.services.base import Service
from tools.services.s3 import S3Bucket
from tools.services.trino import query

MODES: tuple[LoadMode, ...] = ("external", "iceberg")
DAYS = day_range(dt.date(2026, 2, 1), dt.date(2026, 2, 28))


@pytest.fixture
def schema(trino_server: Service, s3_bucket: S3Bucket) -> Iterator[str]:
    name = f"rng_{uuid.uuid4().hex[:10]}"
    query(trino_server, f"CREATE SCHEMA iceberg.{name} "
                        f"WITH (location = 's3://{s3_bucket.bucket}/warehouse/{name}')")
    yield name
    for catalog in ("hive", "iceberg"):
        with contextlib.suppress(Exception):
            for (table,) in query(trino_server, f"SHOW TABLES FROM {catalog}.{name}"):
                query(trino_server, f'DROP TABLE IF EXISTS {catalog}.{name}."{table}"')
            query(trino_server, f"DROP SCHEMA IF EXISTS {catalog}.{name}")


@pytest.fixture
def storage(s3_bucket: S3Bucket) -> StorageResource:
    return storage_resource(f"s3://{s3_bucket.bucket}/lake", endpoint_url=s3_bucket.endpoint_url,
                            region=s3_bucket.region, path_style=True,
                            access_key=s3_bucket.access_key, secret_key=s3_bucket.secret_key)


@pytest.fixture
def warehouse(trino_server: Service, schema: str) -> Warehouse:
    config = TrinoWarehouseConfig(type="trino", host=trino_server.host, port=trino_server.port,
                                  schema_name=schema)
    return config.build_resource("it").warehouse()


def pipeline(name: str, mode: LoadMode) -> PipelineAssetConfig:
    return PipelineAssetConfig(name=name, table=name, date_column="at", save_to_trino=True,
                               load_mode=mode)


def write_days(storage: StorageResource, name: str, days: list[str], version: int = 1) -> None:
    """Day files as the extract writes them: a few rows per day, none on the 10th."""
    for i, day in enumerate(days):
        rows = 0 if day.endswith("-10") else 1 + (i + version) % 3
        data = pa.table({
            "id": pa.array([i * 10 + r for r in range(rows)], pa.int64()),
            "version": pa.array([version] * rows, pa.int32()),
            "at": pa.array([dt.datetime.fromisoformat(day) + dt.timedelta(hours=r)
                            for r in range(rows)], pa.timestamp("us")),
        })
        storage.write(naming.data_file_path("it", "extract", name, day), data.to_reader())


def table_rows(trino: Service, mode: LoadMode, schema: str, name: str) -> list[Any]:
    catalog = "iceberg" if mode == "iceberg" else "hive"
    return query(trino, f"SELECT id, version, at, CAST(dt AS varchar) FROM {catalog}.{schema}."
                        f"{name} ORDER BY 4, 1")


@pytest.mark.parametrize("mode", MODES)
def test_a_range_load_gives_what_day_by_day_loads_give(
        mode: LoadMode, trino_server: Service, schema: str, storage: StorageResource,
        warehouse: Warehouse) -> None:
    for name in ("by_day", "by_range"):
        write_days(storage, name, DAYS)
    for day in DAYS:
        run_load("it", pipeline("by_day", mode), storage, warehouse, [day])
    loaded = run_load("it", pipeline("by_range", mode), storage, warehouse, DAYS)
    assert all(c.passed for c in loaded.checks.values()) and len(loaded.checks) == len(DAYS)
    assert loaded.outcomes["2026-02-10"].rows == 0
    by_day = table_rows(trino_server, mode, schema, "by_day")
    assert by_day and by_day == table_rows(trino_server, mode, schema, "by_range")


@pytest.mark.parametrize("mode", MODES)
def test_statements_of_a_range_load_do_not_grow_with_its_days(
        mode: LoadMode, storage: StorageResource, warehouse: Warehouse) -> None:
    write_days(storage, "grow", DAYS)
    p = pipeline("grow", mode)
    run_load("it", p, storage, warehouse, DAYS[:2])  # creates the table
    few = run_load("it", p, storage, warehouse, DAYS[:2])
    many = run_load("it", p, storage, warehouse, DAYS)
    assert few.statements == many.statements > 0
    assert len(many.outcomes) == len(DAYS) and all(c.passed for c in many.checks.values())


@pytest.mark.parametrize("mode", MODES)
def test_an_overlapping_range_replaces_its_days_and_keeps_the_others(
        mode: LoadMode, trino_server: Service, schema: str, storage: StorageResource,
        warehouse: Warehouse) -> None:
    p = pipeline("overlap", mode)
    write_days(storage, "overlap", DAYS)
    run_load("it", p, storage, warehouse, DAYS)
    write_days(storage, "overlap", DAYS[5:15], version=2)
    reloaded = run_load("it", p, storage, warehouse, DAYS[5:15])
    assert all(c.passed for c in reloaded.checks.values())
    rows = table_rows(trino_server, mode, schema, "overlap")
    versions = {day: {r[1] for r in rows if r[3] == day} for day in DAYS}
    assert all(versions[d] == {2} for d in DAYS[5:15] if not d.endswith("-10"))
    assert all(versions[d] == {1} for d in DAYS[:5] + DAYS[15:])
    assert len(rows) == len({(r[0], r[3]) for r in rows})  # no duplicates
