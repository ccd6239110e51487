"""Trino's table layout: the external view over a raw Hive table, tables of earlier versions
migrated to it by metadata alone, and loads whose statements do not grow with their days."""

from __future__ import annotations

import pyarrow as pa
import pytest

from etl import naming
from etl.resources.s3 import StorageResource
from etl.stages.inputs import stage_files
from etl.warehouse.base import LoadMode, LoadRequest
from etl.warehouse.trino.loader import TrinoWarehouse
from tests.integration.trino_support import (
    catalog,
    column_types,
)
from tools.services.base import Service
from tools.services.trino import query

DAYS = tuple(f"2026-04-{d:02d}" for d in range(1, 8))
DATA = pa.table({"id": pa.array([1, 2], pa.int64()), "qty": pa.array([3, None], pa.int16())})


def written(storage: StorageResource, table: str, days: tuple[str, ...],
            mode: LoadMode) -> LoadRequest:
    """Each day's file as the extract writes it, and the load request for those days."""
    for day in days:
        relative = naming.data_file_path("it", "extract", table, day)
        storage.write(relative, DATA.to_reader())
    files = stage_files(storage, "it", "extract", table, days)
    data, schema = files.dataset(storage)
    return LoadRequest(table=table, days=days, schema=schema, data=data, mode=mode,
                       dataset_uri=storage.uri(naming.dataset_path("it", "extract", table)),
                       schema_drift="add_columns")


def test_a_table_of_an_earlier_version_becomes_the_view_by_metadata_alone(
    trino_server: Service, storage: StorageResource, warehouse: TrinoWarehouse, schema: str,
) -> None:
    """Before, users queried a Hive table under the pipeline's name with a varchar day and
    smallint columns. The next load replaces it by the view over ``<name>__raw``: every old day
    stays readable (its files untouched), with the day a date and qty an integer."""
    old = written(storage, "orders", DAYS[:2], "external")
    location = old.dataset_uri.rstrip("/") + "/"
    query(trino_server, f"CREATE SCHEMA IF NOT EXISTS hive.{schema}")
    query(trino_server, f"CREATE TABLE hive.{schema}.orders (id bigint, qty smallint, "
                        f"dt varchar) WITH (format = 'PARQUET', external_location = "
                        f"'{location}', partitioned_by = ARRAY['dt'])")
    query(trino_server, f"CALL hive.system.sync_partition_metadata(schema_name => '{schema}', "
                        "table_name => 'orders', mode => 'ADD')")
    files = {d: storage.metadata(naming.data_file_path("it", "extract", "orders", d)).num_rows
             for d in DAYS[:2]}

    result = warehouse.load(written(storage, "orders", DAYS[2:3], "external"))

    assert result.rows_by_day == {DAYS[2]: 2}
    kinds = query(trino_server, f"SELECT table_name, table_type FROM hive.information_schema."
                                f"tables WHERE table_schema = '{schema}' ORDER BY 1")
    assert kinds == [["orders", "VIEW"], ["orders__raw", "BASE TABLE"]]
    assert column_types(trino_server, "external", schema, "orders") == {
        "id": "bigint", "qty": "integer", "dt": "date"}
    assert query(trino_server, f"SELECT CAST(dt AS varchar), count(*), sum(qty) FROM "
                               f"hive.{schema}.orders GROUP BY 1 ORDER BY 1") == [
        [d, 2, 3] for d in DAYS[:3]]
    assert query(trino_server, f"SELECT count(*) FROM hive.{schema}.orders "
                               f"WHERE dt = DATE '{DAYS[0]}'") == [[2]]
    assert {d: storage.metadata(naming.data_file_path("it", "extract", "orders", d)).num_rows
            for d in DAYS[:2]} == files
    assert warehouse.count_days("orders", list(DAYS[:3]), "external") == dict.fromkeys(
        DAYS[:3], 2)


@pytest.mark.parametrize("mode", ["external", "iceberg"])
def test_statements_of_a_load_do_not_grow_with_its_days(
    mode: LoadMode, trino_server: Service, storage: StorageResource,
    warehouse: TrinoWarehouse, schema: str,
) -> None:
    warehouse.load(written(storage, "ranged", DAYS[:1], mode))  # creates the table and view
    two = warehouse.load(written(storage, "ranged", DAYS[:2], mode))
    seven = warehouse.load(written(storage, "ranged", DAYS, mode))
    assert two.statements == seven.statements > 0
    assert seven.rows_by_day == dict.fromkeys(DAYS, 2)
    assert query(trino_server, f"SELECT count(*) FROM {catalog(mode)}.{schema}.ranged") == [[14]]
