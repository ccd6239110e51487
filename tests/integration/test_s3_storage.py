"""The lake on a real S3-protocol server: layout, atomic replace, reruns and secrets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import boto3
import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster_shared.serdes import serialize_value

from etl import build_tenant_definitions
from etl.resources.s3 import StorageResource
from tests.helpers import (
    DAYS,
    copy_tenants,
    duckdb_warehouse,
    run_job,
    seed_tenant,
    storage_resource,
)
from tools.services.s3 import S3Bucket

SECRET = "s3cr3t-Value-Only-In-Env"


def s3_client(bucket: S3Bucket):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=bucket.endpoint_url, region_name=bucket.region,
                        aws_access_key_id=bucket.access_key, aws_secret_access_key=SECRET)


def keys(bucket: S3Bucket, prefix: str = "") -> list[str]:
    pages = s3_client(bucket).get_paginator("list_objects_v2").paginate(
        Bucket=bucket.bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def s3_tenants(tmp: Path, bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> Path:
    tenants = copy_tenants(tmp)
    for tenant in ("default", "project_01"):
        config = tenants / tenant / "config.yaml"
        config.write_text(config.read_text().replace(
            f"  root: {tmp}/.etl/lake",
            f"  root: s3://{bucket.bucket}/lake\n  endpoint_url: {bucket.endpoint_url}\n"
            f"  region: {bucket.region}\n  path_style: true\n"
            f"  access_key_env: {tenant.upper()}_LAKE_ACCESS_KEY\n"
            f"  secret_key_env: {tenant.upper()}_LAKE_SECRET_KEY",
        ))
        monkeypatch.setenv(f"{tenant.upper()}_LAKE_ACCESS_KEY", bucket.access_key)
        monkeypatch.setenv(f"{tenant.upper()}_LAKE_SECRET_KEY", SECRET)
    return tenants


def test_pipelines_write_hive_layout_to_s3_and_reruns_replace(
    tmp_path: Path, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenants = s3_tenants(tmp_path, s3_bucket, monkeypatch)
    instance = dg.DagsterInstance.ephemeral()
    summary = seed_tenant(tmp_path, "project_01")
    defs = build_tenant_definitions("project_01", tenants_dir=tenants)
    for day in DAYS:
        run_job(defs, "daily_etl_job", day.isoformat(), instance)
    run_job(defs, "master_sync_job", None, instance)
    day = DAYS[0].isoformat()
    expected = [f"lake/project_01/{stage}/work_order/dt={d}/data.parquet"
                for stage in ("extract", "transfer") for d in (day, DAYS[1].isoformat())]
    assert set(expected) <= set(keys(s3_bucket, "lake/project_01/"))
    assert "lake/project_01/extract/cfg_item_master/latest/data.parquet" in keys(s3_bucket)
    # A rerun replaces the day's single object: no second file, no staging leftovers.
    run_job(defs, "daily_etl_job", day, instance)
    assert keys(s3_bucket, f"lake/project_01/extract/work_order/dt={day}/") == [
        f"lake/project_01/extract/work_order/dt={day}/data.parquet"]
    assert not [k for k in keys(s3_bucket) if "_tmp-" in k]
    assert not [k for k in keys(s3_bucket, "lake/project_01/") if k.endswith("/")]
    warehouse = duckdb_warehouse(tmp_path / ".etl/warehouse.duckdb", "project_01")
    assert warehouse.count_days("work_order", [day], None)[day] == summary.rows(
        "work_order", day)
    # The S3 secret never reaches Dagster's event log (metadata, logs, errors).
    events = [serialize_value(e) for run in instance.get_runs()
              for e in instance.all_logs(run.run_id)]
    assert any("dagster/row_count" in e for e in events)
    assert not any(SECRET in e for e in events)


def storage(bucket: S3Bucket) -> StorageResource:
    return storage_resource(f"s3://{bucket.bucket}/lake", endpoint_url=bucket.endpoint_url,
                            region=bucket.region, path_style=True,
                            access_key=bucket.access_key, secret_key=SECRET)


def test_failed_write_on_s3_keeps_the_old_object(s3_bucket: S3Bucket) -> None:
    store = storage(s3_bucket)
    relative = "t/extract/x/dt=2026-03-01/data.parquet"
    store.write(relative, pa.table({"x": [1, 2, 3]}).to_reader())
    schema = pa.schema([("x", pa.int64())])

    def failing():  # type: ignore[no-untyped-def]
        yield pa.record_batch({"x": [9]}, schema=schema)
        raise ConnectionError("source dropped the connection")

    with pytest.raises(ConnectionError):
        store.write(relative, pa.RecordBatchReader.from_batches(schema, failing()))
    assert store.dataset(relative).to_table().column("x").to_pylist() == [1, 2, 3]
    assert keys(s3_bucket, "lake/t/") == [f"lake/{relative}"]


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    import pyarrow as pa
    from tests.helpers import storage_resource
    endpoint, bucket, secret = sys.argv[1:4]
    store = storage_resource(f"s3://{bucket}/lake", endpoint_url=endpoint, path_style=True,
                             access_key="test", secret_key=secret, region="us-east-1")
    schema = pa.schema([("x", pa.int64()), ("pad", pa.string())])
    def slow():
        for i in range(10_000):
            if i == 3:
                print("writing", flush=True)
            yield pa.record_batch({"x": list(range(i * 50_000, (i + 1) * 50_000)),
                                   "pad": ["y" * 40] * 50_000}, schema=schema)
            time.sleep(0.05)
    store.write("t/extract/x/dt=2026-03-01/data.parquet", pa.RecordBatchReader.from_batches(
        schema, slow()))
""")


def test_killed_write_never_exposes_a_partial_partition(s3_bucket: S3Bucket) -> None:
    store = storage(s3_bucket)
    relative = "t/extract/x/dt=2026-03-01/data.parquet"
    store.write(relative, pa.table({"x": [1, 2, 3], "pad": ["a", "b", "c"]}).to_reader())
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, s3_bucket.endpoint_url, s3_bucket.bucket, SECRET],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
        env={**os.environ},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    table = store.dataset(relative).to_table()
    assert table.column("x").to_pylist() == [1, 2, 3]
    visible = [k for k in keys(s3_bucket, "lake/t/") if not k.split("/")[-1].startswith("_")]
    assert visible == [f"lake/{relative}"]
    assert pq.ParquetFile(store.filesystem()[0].open_input_file(store.path(relative)))
