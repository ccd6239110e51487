"""Smoke tests: each loopback server really accepts its protocol, and Trino's catalogs work
end to end (Hive external tables over pyarrow Parquet on S3, Iceberg on the JDBC catalog)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import sqlalchemy as sa

from tools.services import s3 as s3mod
from tools.services.base import Service
from tools.services.s3 import S3Bucket
from tools.services.trino import query


def test_postgres_accepts_query(postgres_db: str) -> None:
    engine = sa.create_engine(postgres_db)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (id int PRIMARY KEY, name text)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1, 'a'), (2, 'b')"))
            assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 2
    finally:
        engine.dispose()


def test_mariadb_accepts_query(mariadb_db: str) -> None:
    engine = sa.create_engine(mariadb_db)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (id int PRIMARY KEY, name varchar(10))"))
            conn.execute(sa.text("INSERT INTO t VALUES (1, 'a'), (2, 'b')"))
            assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 2
    finally:
        engine.dispose()


def test_s3_put_get(s3_server: Service, s3_bucket: S3Bucket) -> None:
    client = s3mod.client(s3_server)
    client.put_object(Bucket=s3_bucket.bucket, Key="a/b.txt", Body=b"hello")
    body = client.get_object(Bucket=s3_bucket.bucket, Key="a/b.txt")["Body"].read()
    assert body == b"hello"


def test_trino_select_1(trino_server: Service) -> None:
    assert query(trino_server, "SELECT 1") == [[1]]


def _arrow_fs(bucket: S3Bucket) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(
        endpoint_override=bucket.endpoint_url,
        access_key=bucket.access_key,
        secret_key=bucket.secret_key,
        region=bucket.region,
        scheme="http",
        allow_bucket_creation=False,
    )


def _events(n: int, day: int) -> pa.Table:
    base = dt.datetime(2024, 1, day, 12, 0, 0, 123456)
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "amount": pa.array(
                [decimal.Decimal(f"{i}.25") for i in range(n)], pa.decimal128(12, 2)
            ),
            "name": pa.array([f"n{i}" for i in range(n)], pa.string()),
            "ts": pa.array([base + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp("us")),
        }
    )


def test_trino_hive_external_parquet(trino_server: Service, s3_bucket: S3Bucket) -> None:
    fs = _arrow_fs(s3_bucket)
    for day, n in ((1, 100), (2, 50)):
        pq.write_table(
            _events(n, day),
            f"{s3_bucket.bucket}/raw/events/dt=2024-01-0{day}/part-0.parquet",
            filesystem=fs,
            coerce_timestamps="us",
        )
    schema = f"hive.smoke_{uuid.uuid4().hex[:8]}"
    query(trino_server, f"CREATE SCHEMA {schema} WITH (location = '{s3_bucket.url}/hive/')")
    try:
        query(
            trino_server,
            f"""CREATE TABLE {schema}.events (
                id bigint, amount decimal(12,2), name varchar, ts timestamp(6), dt varchar)
            WITH (format = 'PARQUET', external_location = '{s3_bucket.url}/raw/events/',
                  partitioned_by = ARRAY['dt'])""",
        )
        name = schema.split(".")[1]
        query(
            trino_server,
            f"CALL hive.system.sync_partition_metadata('{name}', 'events', 'ADD')",
        )
        rows = query(
            trino_server,
            f"SELECT dt, count(*), sum(amount), max(ts) FROM {schema}.events "
            "GROUP BY dt ORDER BY dt",
        )
        assert [r[:3] for r in rows] == [
            ["2024-01-01", 100, decimal.Decimal("4975.00")],
            ["2024-01-02", 50, decimal.Decimal("1237.50")],
        ]
        assert rows[0][3] == dt.datetime(2024, 1, 1, 12, 1, 39, 123456)
    finally:
        query(trino_server, f"DROP TABLE IF EXISTS {schema}.events")
        query(trino_server, f"DROP SCHEMA IF EXISTS {schema}")


def test_trino_iceberg_insert_select(trino_server: Service, s3_server: Service) -> None:
    schema = f"iceberg.smoke_{uuid.uuid4().hex[:8]}"
    query(trino_server, f"CREATE SCHEMA {schema}")
    try:
        query(
            trino_server,
            f"""CREATE TABLE {schema}.events (id bigint, name varchar, ts timestamp(6), d date)
            WITH (format = 'PARQUET', partitioning = ARRAY['d'])""",
        )
        query(
            trino_server,
            f"""INSERT INTO {schema}.events VALUES
                (1, 'a', TIMESTAMP '2024-01-01 10:00:00.123456', DATE '2024-01-01'),
                (2, 'b', TIMESTAMP '2024-01-02 10:00:00', DATE '2024-01-02')""",
        )
        rows = query(trino_server, f"SELECT id, name, ts FROM {schema}.events ORDER BY id")
        assert rows == [
            [1, "a", dt.datetime(2024, 1, 1, 10, 0, 0, 123456)],
            [2, "b", dt.datetime(2024, 1, 2, 10, 0, 0)],
        ]
        # Data and metadata really landed on the test S3 warehouse.
        listing = s3mod.client(s3_server).list_objects_v2(
            Bucket=trino_server.extra["bucket"], Prefix=f"warehouse/{schema.split('.')[1]}"
        )
        keys = [o["Key"] for o in listing.get("Contents", [])]
        assert any(k.endswith(".parquet") for k in keys), keys
        assert any(k.endswith(".metadata.json") for k in keys), keys
    finally:
        query(trino_server, f"DROP TABLE IF EXISTS {schema}.events")
        query(trino_server, f"DROP SCHEMA IF EXISTS {schema}")
