"""Loading into a real Trino 476: Hive external tables and Iceberg, through the warehouse and
through whole Dagster jobs (SQLite source -> Parquet on S3 -> Trino).

Every test gets its own Trino schema (its Iceberg data in the test's own bucket) and drops it
afterwards; the bucket is the `s3_bucket` fixture's and is deleted with it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
import sqlalchemy as sa
import yaml

from etl import naming
from etl.demo.sample_db import SeedSummary, seed
from etl.factories.definitions_factory import build_tenant_definitions
from etl.resources.s3 import StorageResource
from etl.stages.inputs import stage_files
from etl.utils.logical_types import INTERVAL, metadata
from etl.warehouse.base import LoadMode, LoadRequest, SchemaDriftError, WarehouseError
from etl.warehouse.trino.loader import TrinoWarehouse
from tests.helpers import storage_resource
from tests.integration.trino_support import (
    bucket_storage,
    catalog,
    closed_port,
    column_types,
    trino_loader,
    unique,
)
from tools.services.base import Service
from tools.services.s3 import S3Bucket
from tools.services.trino import query

MODES: tuple[LoadMode, ...] = ("external", "iceberg")
DAYS = ("2026-01-02", "2026-01-03")
UTC = dt.UTC


def write(storage: StorageResource, table: str, day: str | None, data: pa.Table,
          mode: LoadMode, drift: str = "add_columns",
          stage: naming.Stage = "extract") -> LoadRequest:
    """Write ``data`` where ``stage`` would and build the load request for it."""
    relative = naming.data_file_path("it", stage, table, day)
    storage.write(relative, pa.RecordBatchReader.from_batches(data.schema, data.to_batches()))
    return request_for(storage, table, [day] if day else None, mode, drift, stage)


def request_for(storage: StorageResource, table: str, days: list[str] | None, mode: LoadMode,
                drift: str = "add_columns", stage: naming.Stage = "extract") -> LoadRequest:
    """The request the load stage builds for these days' files (or the master file)."""
    files = stage_files(storage, "it", stage, table, days)
    data, schema = files.dataset(storage)
    return LoadRequest(
        table=table, days=tuple(days) if days else None, schema=schema, data=data,
        dataset_uri=storage.uri(naming.dataset_path("it", stage, table)),
        mode=mode, schema_drift=drift,  # type: ignore[arg-type]
    )


# --- every type --------------------------------------------------------------------------

SEOUL = dt.timezone(dt.timedelta(hours=9))
UUID_FIELD = pa.field("u", pa.string(), metadata=metadata("uuid"))
JSON_FIELD = pa.field("j", pa.string(), metadata=metadata("json"))
_EVERY_TYPE = pa.table({
    "id": pa.array([1, 2], pa.int64()),
    "i8": pa.array([-128, None], pa.int8()),
    "i16": pa.array([-32768, None], pa.int16()),
    "i32": pa.array([2_147_483_647, None], pa.int32()),
    "i64": pa.array([9_007_199_254_740_993, None], pa.int64()),
    "amount": pa.array([Decimal("-12345678901234.5678"), None], pa.decimal128(18, 4)),
    "ratio": pa.array([0.1 + 0.2, None], pa.float64()),
    "f32": pa.array([1.5, None], pa.float32()),
    "flag": pa.array([True, None], pa.bool_()),
    "label": pa.array(["한글 it's ✓", None], pa.string()),
    "day": pa.array([dt.date(1999, 12, 31), None], pa.date32()),
    "tm": pa.array([dt.time(23, 59, 59, 999999), None], pa.time64("us")),
    "ts": pa.array([dt.datetime(2026, 1, 2, 23, 59, 59, 999999), None], pa.timestamp("us")),
    "tstz": pa.array([dt.datetime(2026, 1, 2, 9, 30, 0, 123456, tzinfo=SEOUL), None],
                     pa.timestamp("us", tz="UTC")),
    "payload": pa.array([b"\x00\xff\x10", None], pa.binary()),
    "tags": pa.array([[1, None, 3], None], pa.list_(pa.int64())),
    "times": pa.array([[dt.time(1, 2, 3), None], None], pa.list_(pa.time64("us"))),
    "iv": pa.array([{"months": 14, "days": -3, "microseconds": 1}, None], INTERVAL),
    "u": pa.array(["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None]),
    "j": pa.array(['{"a": [1, null]}', None]),
})
EVERY_TYPE = _EVERY_TYPE.cast(pa.schema(  # uuid and json are tagged, as the extractor does
    [{"u": UUID_FIELD, "j": JSON_FIELD}.get(f.name, f) for f in _EVERY_TYPE.schema]))
# One schema whichever mode: the external view shows what the Iceberg table holds.
USER_TYPES = {
    "id": "bigint", "i8": "integer", "i16": "integer", "i32": "integer", "i64": "bigint",
    "amount": "decimal(18,4)", "ratio": "double", "f32": "real", "flag": "boolean",
    "label": "varchar", "day": "date", "tm": "time(6)", "ts": "timestamp(6)",
    "tstz": "timestamp(6) with time zone", "payload": "varbinary", "tags": "array(bigint)",
    "times": "array(time(6))",
    "iv": "row(months integer, days integer, microseconds bigint)", "u": "uuid", "j": "varchar",
    "dt": "date",
}


@pytest.mark.parametrize("mode", MODES)
def test_every_type_reads_back_exactly(
    mode: LoadMode, trino_server: Service, storage: StorageResource,
    warehouse: TrinoWarehouse, schema: str,
) -> None:
    request = write(storage, "every_type", DAYS[0], EVERY_TYPE, mode)
    result = warehouse.load(request)
    assert result.rows == 2
    # The Iceberg load's Hive staging table over the lake folder is gone, the lake file is not.
    assert storage.exists(naming.data_file_path("it", "extract", "every_type", DAYS[0]))
    relations = query(trino_server, f"SELECT table_name, table_type FROM hive.information_schema"
                                    f".tables WHERE table_schema = '{schema}' ORDER BY 1")
    assert relations == ([["every_type", "VIEW"], ["every_type__raw", "BASE TABLE"]]
                         if mode == "external" else [])
    assert column_types(trino_server, mode, schema, "every_type") == USER_TYPES
    rows = query(trino_server, f"SELECT * FROM {catalog(mode)}.{schema}.every_type ORDER BY id")
    instant = dt.datetime(2026, 1, 2, 0, 30, 0, 123456, tzinfo=UTC)
    partition = dt.date.fromisoformat(DAYS[0])
    first = rows[0]
    assert first[:-4] == [
        1, -128, -32768, 2_147_483_647, 9_007_199_254_740_993,
        Decimal("-12345678901234.5678"), 0.1 + 0.2, 1.5, True, "한글 it's ✓",
        dt.date(1999, 12, 31), dt.time(23, 59, 59, 999999),
        dt.datetime(2026, 1, 2, 23, 59, 59, 999999), instant, b"\x00\xff\x10", [1, None, 3],
        [dt.time(1, 2, 3), None],
    ]
    assert tuple(first[-4]) == (14, -3, 1)
    assert first[-3:] == [uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), '{"a": [1, null]}',
                          partition]
    assert rows[1] == [2, *([None] * 19), partition]
    assert query(trino_server, f"SELECT id FROM {catalog(mode)}.{schema}.every_type "
                               f"WHERE dt = DATE '{DAYS[0]}' AND tstz = TIMESTAMP "
                               "'2026-01-02 09:30:00.123456 Asia/Seoul'") == [[1]]


# --- schema drift ------------------------------------------------------------------------

BASE = pa.table({"id": pa.array([1, 2], pa.int64()), "name": pa.array(["a", "b"])})


@pytest.mark.parametrize("mode", MODES)
def test_drift_new_column_is_added(
    mode: LoadMode, trino_server: Service, storage: StorageResource,
    warehouse: TrinoWarehouse, schema: str,
) -> None:
    warehouse.load(write(storage, "drift", DAYS[0], BASE, mode))
    wider = BASE.append_column("score", pa.array([Decimal("1.50"), None], pa.decimal128(9, 2)))
    result = warehouse.load(write(storage, "drift", DAYS[1], wider, mode))
    assert result.added_columns == ("score",) and result.rows == 2
    rows = query(trino_server, f"SELECT CAST(dt AS varchar), id, name, score "
                               f"FROM {catalog(mode)}.{schema}.drift ORDER BY 1, 2")
    assert rows == [
        [DAYS[0], 1, "a", None], [DAYS[0], 2, "b", None],
        [DAYS[1], 1, "a", Decimal("1.50")], [DAYS[1], 2, "b", None],
    ]


@pytest.mark.parametrize("mode", MODES)
def test_drift_type_change_fails_clearly(
    mode: LoadMode, storage: StorageResource, warehouse: TrinoWarehouse,
) -> None:
    warehouse.load(write(storage, "drift", DAYS[0], BASE, mode))
    changed = pa.table({"id": pa.array(["1"]), "name": pa.array(["a"])})
    with pytest.raises(SchemaDriftError, match=r"column 'id' is bigint in the table but varchar"):
        warehouse.load(write(storage, "drift", DAYS[1], changed, mode))
    assert warehouse.count_days("drift", [DAYS[0]], mode)[DAYS[0]] == 2
    assert warehouse.count_days("drift", [DAYS[1]], mode)[DAYS[1]] == 0


@pytest.mark.parametrize("mode", MODES)
def test_drift_dropped_column_fails_clearly(
    mode: LoadMode, storage: StorageResource, warehouse: TrinoWarehouse,
) -> None:
    warehouse.load(write(storage, "drift", DAYS[0], BASE, mode))
    with pytest.raises(SchemaDriftError, match=r"\['name'\] exist in the table but not in"):
        warehouse.load(write(storage, "drift", DAYS[1], BASE.select(["id"]), mode))
    assert warehouse.count_days("drift", [DAYS[1]], mode)[DAYS[1]] == 0


def test_drift_policy_fail_rejects_new_column(
    storage: StorageResource, warehouse: TrinoWarehouse,
) -> None:
    warehouse.load(write(storage, "drift", None, BASE, "iceberg", "fail"))
    wider = BASE.append_column("extra", pa.array([1.0, 2.0]))
    with pytest.raises(SchemaDriftError, match=r"new column\(s\) \['extra'\].*'fail'"):
        warehouse.load(write(storage, "drift", None, wider, "iceberg", "fail"))


# --- reruns and concurrency ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_rerun_replaces_the_day_and_keeps_others(
    mode: LoadMode, trino_server: Service, storage: StorageResource,
    warehouse: TrinoWarehouse, schema: str,
) -> None:
    for day in DAYS:
        warehouse.load(write(storage, "rerun", day, BASE, mode))
    smaller = pa.table({"id": pa.array([7], pa.int64()), "name": pa.array(["z"])})
    for _ in range(2):
        assert warehouse.load(write(storage, "rerun", DAYS[0], smaller, mode)).rows == 1
    rows = query(trino_server, f"SELECT CAST(dt AS varchar), id FROM "
                               f"{catalog(mode)}.{schema}.rerun ORDER BY 1, 2")
    assert rows == [[DAYS[0], 7], [DAYS[1], 1], [DAYS[1], 2]]
    if mode == "iceberg":  # a replaced day is compacted: no delete files left behind
        files = query(trino_server, f'SELECT content, count(*) FROM iceberg.{schema}."rerun$files" '
                                    "GROUP BY content")
        assert [row[0] for row in files] == [0]


@pytest.mark.parametrize("mode", MODES)
def test_parallel_loads_into_a_new_table(
    mode: LoadMode, storage: StorageResource, warehouse: TrinoWarehouse,
) -> None:
    """Backfills run days side by side, and a rerun may overlap a scheduled run of the same day:
    table creation, partition registration and Iceberg commits must not collide."""
    days = [f"2026-02-{d:02d}" for d in range(1, 5)]
    requests = [write(storage, "par", day, BASE, mode) for day in days]
    with ThreadPoolExecutor(len(days)) as pool:
        results = list(pool.map(warehouse.load, requests))
        assert [r.rows for r in results] == [2] * len(days)
        same_day = list(pool.map(warehouse.load, [requests[0]] * 3))
    assert [r.rows for r in same_day] == [2] * 3
    assert [warehouse.count_days("par", [d], mode)[d] for d in days] == [2] * len(days)


def test_external_master_table_follows_its_folder(
    trino_server: Service, storage: StorageResource, warehouse: TrinoWarehouse,
    schema: str,
) -> None:
    """Adding a transfer stage moves master data to another folder; the table is re-pointed."""
    warehouse.load(write(storage, "master", None, BASE, "external"))
    moved = write(storage, "master", None, BASE.slice(1, 1), "external", stage="transfer")
    assert warehouse.load(moved).rows == 1
    assert query(trino_server, f"SELECT id FROM hive.{schema}.master") == [[2]]


# --- failures without a server -----------------------------------------------------------


def test_local_lake_is_rejected_for_trino(tmp_path: Path) -> None:
    wh = trino_loader("127.0.0.1", closed_port(), "it")
    local = storage_resource(str(tmp_path / "lake"))
    relative = naming.data_file_path("it", "extract", "t", DAYS[0])
    local.write(relative, pa.RecordBatchReader.from_batches(BASE.schema, BASE.to_batches()))
    request = request_for(local, "t", [DAYS[0]], "external")
    with pytest.raises(WarehouseError, match=r"storage.root to s3://"):
        wh.load(request)


def test_unreachable_trino_error_names_address_not_password() -> None:
    port, secret = closed_port(), unique("pw-")
    wh = trino_loader("127.0.0.1", port, "it", password=secret, http_scheme="https")
    with pytest.raises(WarehouseError) as info:
        wh.count_days("t", [DAYS[0]], "external")[DAYS[0]]
    message = str(info.value)
    assert f"https://127.0.0.1:{port}" in message and "Connection refused" in message
    assert secret not in message


# --- whole Dagster jobs ------------------------------------------------------------------

PIPELINES: list[dict[str, Any]] = [
    *({"name": f"wo_{m[:3]}", "table": "work_order", "date_column": "created_at",
       "primary_key": ["id"], "has_transfer": True, "save_to_trino": True, "load_mode": m}
      for m in MODES),
    *({"name": f"item_{m[:3]}", "table": "CFG_ITEM_MASTER", "primary_key": ["ITEM_CODE"],
       "save_to_trino": True, "load_mode": m} for m in MODES),
]


class Tenant:
    """A tenant folder in tmp with a seeded SQLite source, the test bucket and a Trino."""

    def __init__(self, root: Path, bucket: S3Bucket, schema: str) -> None:
        self.id = unique("it_")
        self.dir = root / "tenants"
        self.bucket = bucket
        self.schema = schema
        self.source = root / "source.db"
        engine = sa.create_engine(f"sqlite:///{self.source}")
        self.summary: SeedSummary = seed(engine, [dt.date.fromisoformat(d) for d in DAYS])
        engine.dispose()

    def configure(self, host: str, port: int, pipelines: list[dict[str, Any]] | None = None,
                  **warehouse: Any) -> None:
        config = {
            "tenant": {"id": self.id, "name": "Integration test"},
            "source": {"url": f"sqlite:///{self.source}"},
            "storage": {"root": f"s3://{self.bucket.bucket}/lake",
                        "endpoint_url": self.bucket.endpoint_url, "region": self.bucket.region,
                        "path_style": True, "access_key_env": self.env("S3_ACCESS_KEY"),
                        "secret_key_env": self.env("S3_SECRET_KEY")},
            "warehouse": {"type": "trino", "host": host, "port": port, "user": "etl",
                          "schema_name": self.schema, **warehouse},
            "schedule": {"start_date": "2026-01-01", "timezone": "UTC"},
            "assets": {"pipelines": PIPELINES if pipelines is None else pipelines},
        }
        folder = self.dir / self.id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def env(self, name: str) -> str:
        """The tenant's own environment variable ``<TENANT>_<name>``."""
        return f"{self.id.upper()}_{name}"

    def run(self, job: str, day: str | None) -> dg.ExecuteInProcessResult:
        defs = build_tenant_definitions(self.id, tenants_dir=self.dir, common_file=None)
        return defs.resolve_job_def(job).execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), partition_key=day, raise_on_error=False)


@pytest.fixture
def tenant(tmp_path: Path, s3_bucket: S3Bucket, schema: str,
           monkeypatch: pytest.MonkeyPatch) -> Tenant:
    tenant = Tenant(tmp_path, s3_bucket, schema)
    monkeypatch.setenv(tenant.env("S3_ACCESS_KEY"), s3_bucket.access_key)
    monkeypatch.setenv(tenant.env("S3_SECRET_KEY"), s3_bucket.secret_key)
    return tenant


def counts(trino: Service, schema: str) -> dict[str, object]:
    """Rows per table (and per day for the daily ones), as Trino sees them."""
    out: dict[str, object] = {}
    for m in MODES:
        out[f"wo_{m[:3]}"] = query(trino, f"SELECT CAST(dt AS varchar), count(*) FROM "
                                          f"{catalog(m)}.{schema}.wo_{m[:3]} GROUP BY 1 ORDER BY 1")
        out[f"item_{m[:3]}"] = query(trino, f"SELECT count(*) FROM {catalog(m)}.{schema}."
                                            f"item_{m[:3]}")[0][0]
    return out


def assert_ok(result: dg.ExecuteInProcessResult) -> None:
    failures = [e.step_failure_data.error.to_string() for e in result.all_events
                if e.is_step_failure and e.step_failure_data.error]
    assert result.success, failures
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), checks


def test_pipeline_source_to_trino_in_both_modes_and_rerun(
    tenant: Tenant, trino_server: Service, schema: str,
) -> None:
    tenant.configure(trino_server.host, trino_server.port)
    for day in DAYS:
        assert_ok(tenant.run(naming.DAILY_ETL_JOB, day))
    assert_ok(tenant.run(naming.MASTER_SYNC_JOB, None))
    per_day = [[d, tenant.summary.rows("work_order", d)] for d in DAYS]
    expected = {"wo_ext": per_day, "wo_ice": per_day,
                "item_ext": tenant.summary.items, "item_ice": tenant.summary.items}
    assert counts(trino_server, schema) == expected
    # Same values through both modes, and the master data's upper-case source names fold.
    assert query(trino_server, f"SELECT sum(planned_qty), max(created_at) FROM hive.{schema}."
                               f"wo_ext") == query(
        trino_server, f"SELECT sum(planned_qty), max(created_at) FROM iceberg.{schema}.wo_ice")
    for table in (f"hive.{schema}.item_ext", f"iceberg.{schema}.item_ice"):
        assert query(trino_server, f"SELECT count(*) FROM {table} WHERE item_code = 'ITM-00001' "
                                   "AND std_cost > 0 AND updated_at IS NOT NULL") == [[1]]

    assert_ok(tenant.run(naming.DAILY_ETL_JOB, DAYS[0]))
    assert_ok(tenant.run(naming.MASTER_SYNC_JOB, None))
    assert counts(trino_server, schema) == expected


def test_trino_down_fails_clearly_then_load_job_recovers(
    tenant: Tenant, trino_server: Service, schema: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, secret = closed_port(), unique("pw-")
    monkeypatch.setenv(tenant.env("TRINO_PASSWORD"), secret)
    tenant.configure("127.0.0.1", port, http_scheme="https",
                     password_env=tenant.env("TRINO_PASSWORD"))
    day = DAYS[1]
    result = tenant.run(naming.DAILY_ETL_JOB, day)
    assert not result.success
    errors = "\n".join(e.step_failure_data.error.to_string() for e in result.all_events
                       if e.is_step_failure and e.step_failure_data.error)
    assert f"cannot reach Trino at https://127.0.0.1:{port}" in errors, errors
    assert secret not in errors
    storage = bucket_storage(tenant.bucket)
    for name in ("wo_ext", "wo_ice"):
        for stage in ("extract", "transfer"):
            assert storage.exists(naming.data_file_path(tenant.id, stage, name, day))

    tenant.configure(trino_server.host, trino_server.port)
    assert_ok(tenant.run(naming.stage_job_name("load"), day))
    rows = [[day, tenant.summary.rows("work_order", day)]]
    assert counts_daily(trino_server, schema) == {"wo_ext": rows, "wo_ice": rows}


def counts_daily(trino: Service, schema: str) -> dict[str, object]:
    return {f"wo_{m[:3]}": query(trino, f"SELECT CAST(dt AS varchar), count(*) FROM "
                                        f"{catalog(m)}.{schema}.wo_{m[:3]} GROUP BY 1")
            for m in MODES}


def test_iceberg_tables_keep_the_sources_not_null_and_drop_it_when_the_source_does(
    trino_server: Service, storage: StorageResource, warehouse: TrinoWarehouse, schema: str,
) -> None:
    required = pa.schema([pa.field("id", pa.int64(), nullable=False), ("name", pa.string())])
    first = pa.table({"id": [1, 2], "name": ["a", None]}, schema=required)
    warehouse.load(write(storage, "kept", DAYS[0], first, "iceberg"))
    nullable = dict(query(trino_server, "SELECT column_name, is_nullable FROM "
                                        f"iceberg.information_schema.columns WHERE table_schema "
                                        f"= '{schema}' AND table_name = 'kept'"))
    assert nullable == {"id": "NO", "name": "YES", "dt": "NO"}
    loose = pa.table({"id": pa.array([None, 3], pa.int64()), "name": ["b", "c"]})
    assert warehouse.load(write(storage, "kept", DAYS[1], loose, "iceberg")).rows == 2
    nullable = dict(query(trino_server, "SELECT column_name, is_nullable FROM "
                                        f"iceberg.information_schema.columns WHERE table_schema "
                                        f"= '{schema}' AND table_name = 'kept'"))
    assert nullable["id"] == "YES"
