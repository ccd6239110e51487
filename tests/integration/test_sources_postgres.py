"""PostgreSQL sources on a real server: exact types, day windows, pipelines and errors.

Every read runs through both readers (DuckDB's scanner and the generic SQLAlchemy path) and
must produce the same Parquet: same Arrow types, same values.
"""

from __future__ import annotations

import datetime as dt
import struct
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from etl.common.assets.extract import run_extract
from etl.config.tenant_config import PipelineAssetConfig
from etl.demo.sample_db import seed
from etl.resources.s3 import StorageResource
from etl.sources import ExtractRequest, SourceError, open_reader
from etl.sources.dispatch import create_source_engine, resolve_url
from etl.sources.duckdb_reader import open_duckdb_reader
from etl.sources.plan import plan_read
from tests.integration.source_support import (
    ENGINES,
    WRONG_PASSWORD,
    assert_no_secret,
    execute,
    extract,
    source,
)
from tools.services.base import free_port

DAYS = (dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3))


def f32(value: float) -> float:
    """The value as PostgreSQL's real stores it."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


EVERY_TYPE_DDL = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE every_type (
    id integer PRIMARY KEY,
    c_smallint smallint, c_integer integer, c_bigint bigint,
    c_numeric numeric(38, 10), c_numeric_18_4 numeric(18, 4), c_numeric_free numeric,
    c_numeric_wide numeric(50, 5), c_real real, c_double double precision, c_boolean boolean,
    c_text text, c_varchar varchar(10), c_char char(5),
    c_date date, c_time time, c_timetz timetz, c_timestamp timestamp, c_timestamptz timestamptz,
    c_interval interval, c_json json, c_jsonb jsonb, c_bytea bytea, c_uuid uuid, c_enum mood,
    c_int_array integer[], c_text_array text[]
);
INSERT INTO every_type VALUES
(1, 32767, 2147483647, 9223372036854775807,
 999999999999999999999999999.9999999999, 99999999999999.9999, 3.14159265358979323846,
 12345678901234567890123456789012345678901234.12345, 3.4028235e38, 1.7976931348623157e308,
 true, 'héllo ☃ 世界', 'abcdefghij', 'ab', '9999-12-31', '23:59:59.999999', '12:34:56+05:30',
 '9999-12-31 23:59:59.999999', '2026-03-01 09:00:00.123456+09',
 '1 year 2 mons 3 days 04:05:06.789', '{"a": [1, 2.5, null], "b": "x"}',
 '{"b": "x", "a": [1, 2.5, null]}', '\\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
 'happy', '{1,NULL,3}', '{"a b","c,d"}'),
(2, -32768, -2147483648, -9223372036854775808,
 -0.0000000001, -99999999999999.9999, -0.5, 0, '-Infinity', 2.2250738585072014e-308,
 false, '', '', '', '0001-01-01', '00:00:00', '00:00:00-12', '0001-01-01 00:00:00',
 '1970-01-01 00:00:00+00', '-1 days -00:00:01', 'null', '[]', '\\x',
 '00000000-0000-0000-0000-000000000000', 'sad', '{}', '{}'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"""

# column -> (Arrow type in the Parquet file, values of rows 1, 2, 3)
EVERY_TYPE: dict[str, tuple[pa.DataType, list[Any]]] = {
    "id": (pa.int32(), [1, 2, 3]),
    "c_smallint": (pa.int16(), [32767, -32768, None]),
    "c_integer": (pa.int32(), [2147483647, -2147483648, None]),
    "c_bigint": (pa.int64(), [9223372036854775807, -9223372036854775808, None]),
    "c_numeric": (pa.decimal128(38, 10), [Decimal("999999999999999999999999999.9999999999"),
                                          Decimal("-0.0000000001"), None]),
    "c_numeric_18_4": (pa.decimal128(18, 4), [Decimal("99999999999999.9999"),
                                              Decimal("-99999999999999.9999"), None]),
    "c_numeric_free": (pa.decimal128(38, 9), [Decimal("3.141592654"), Decimal("-0.500000000"),
                                              None]),
    "c_numeric_wide": (pa.string(), ["12345678901234567890123456789012345678901234.12345",
                                     "0.00000", None]),
    "c_real": (pa.float32(), [f32(3.4028235e38), float("-inf"), None]),
    "c_double": (pa.float64(), [1.7976931348623157e308, 2.2250738585072014e-308, None]),
    "c_boolean": (pa.bool_(), [True, False, None]),
    "c_text": (pa.string(), ["héllo ☃ 世界", "", None]),
    "c_varchar": (pa.string(), ["abcdefghij", "", None]),
    "c_char": (pa.string(), ["ab", "", None]),
    "c_date": (pa.date32(), [dt.date(9999, 12, 31), dt.date(1, 1, 1), None]),
    "c_time": (pa.time64("us"), [dt.time(23, 59, 59, 999999), dt.time(0, 0), None]),
    "c_timetz": (pa.string(), ["12:34:56+05:30", "00:00:00-12", None]),
    "c_timestamp": (pa.timestamp("us"), [dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
                                         dt.datetime(1, 1, 1), None]),
    "c_timestamptz": (pa.timestamp("us", tz="UTC"), [
        dt.datetime(2026, 3, 1, 0, 0, 0, 123456, tzinfo=dt.UTC),
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC), None]),
    "c_interval": (pa.string(), ["1 year 2 mons 3 days 04:05:06.789", "-1 days -00:00:01",
                                 None]),
    "c_json": (pa.string(), ['{"a": [1, 2.5, null], "b": "x"}', "null", None]),
    "c_jsonb": (pa.string(), ['{"a": [1, 2.5, null], "b": "x"}', "[]", None]),
    "c_bytea": (pa.binary(), [b"\x00\xff\x10", b"", None]),
    "c_uuid": (pa.string(), ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                             "00000000-0000-0000-0000-000000000000", None]),
    "c_enum": (pa.string(), ["happy", "sad", None]),
    "c_int_array": (pa.list_(pa.int32()), [[1, None, 3], [], None]),
    "c_text_array": (pa.list_(pa.string()), [["a b", "c,d"], [], None]),
}





def same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Type equality that ignores list element names (Parquet renames ``item``)."""
    if pa.types.is_list(expected):
        return pa.types.is_list(actual) and same_type(actual.value_type, expected.value_type)
    return bool(actual == expected)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_type_lands_in_parquet_exactly(postgres_db: str, engine: str, tmp_path: Path) -> None:
    execute(postgres_db, EVERY_TYPE_DDL)
    rows, table = extract(postgres_db, engine, tmp_path, table="every_type")
    assert rows == 3
    table = table.sort_by("id")
    assert table.column_names == list(EVERY_TYPE)
    for name, (typ, values) in EVERY_TYPE.items():
        assert same_type(table.schema.field(name).type, typ), (name, table.schema.field(name))
        assert table.column(name).to_pylist() == values, name


def test_both_engines_write_the_same_file(postgres_db: str, tmp_path: Path) -> None:
    execute(postgres_db, EVERY_TYPE_DDL)
    _, fast = extract(postgres_db, "duckdb", tmp_path, table="every_type")
    _, generic = extract(postgres_db, "sqlalchemy", tmp_path, table="every_type")
    assert fast.schema == generic.schema
    assert fast.sort_by("id").equals(generic.sort_by("id"))


@pytest.mark.parametrize("engine", ENGINES)
def test_pipeline_day_and_whole_table_counts_match_the_seed(
    postgres_db: str, engine: str, tmp_path: Path
) -> None:
    summary = seed(sa.create_engine(postgres_db), list(DAYS))
    day = DAYS[1].isoformat()
    for table, date_column in (("work_order", "created_at"), ("production_result", "produced_at"),
                               ("quality_inspection", "inspected_at")):
        rows, data = extract(postgres_db, engine, tmp_path, day, table=table,
                             date_column=date_column)
        assert rows == data.num_rows == summary.rows(table, day), table
        assert {d.date() for d in data.column(date_column).to_pylist()} == {DAYS[1]}
        rows, data = extract(postgres_db, engine, tmp_path, None, table=table,
                             date_column=date_column)
        assert rows == data.num_rows == summary.rows(table), table
    rows, items = extract(postgres_db, engine, tmp_path, table="CFG_ITEM_MASTER")
    assert rows == summary.items
    assert items.schema.field("STD_COST").type == pa.decimal128(12, 4)
    _, results = extract(postgres_db, engine, tmp_path, day, table="production_result",
                         date_column="produced_at")
    assert results.schema.field("unit_cost").type == pa.decimal128(12, 4)
    assert results.schema.field("produced_at").type == pa.timestamp("us")
    assert results.schema.field("produced_qty").type == pa.int32()


@pytest.mark.parametrize("engine", ENGINES)
def test_timestamptz_day_is_the_tenant_zone_day(
    postgres_db: str, engine: str, tmp_path: Path
) -> None:
    # 2026-03-02 in Asia/Seoul (+09) is [2026-03-01 15:00Z, 2026-03-02 15:00Z).
    execute(postgres_db, """
        CREATE TABLE events (id int, at timestamptz, local_at timestamp);
        INSERT INTO events VALUES
          (1, '2026-03-01 14:59:59.999999+00', '2026-03-01 23:59:59.999999'),
          (2, '2026-03-01 15:00:00+00', '2026-03-02 00:00:00'),
          (3, '2026-03-02 14:59:59.999999+00', '2026-03-02 23:59:59.999999'),
          (4, '2026-03-02 15:00:00+00', '2026-03-03 00:00:00');
    """)
    storage = StorageResource(root=str(tmp_path / "lake"))
    for column in ("at", "local_at"):
        config = PipelineAssetConfig(name=f"events_{column}", table="events", date_column=column)
        outcome = run_extract("t1", config, source(postgres_db, engine, timezone="Asia/Seoul"),
                              storage, "2026-03-02")
        data = pq.read_table(outcome.uri).sort_by("id")
        assert data.column("id").to_pylist() == [2, 3], column
    assert data.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert data.column("at").to_pylist()[0] == dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC)
    assert data.column("local_at").to_pylist()[0] == dt.datetime(2026, 3, 2)  # not shifted


@pytest.mark.parametrize("engine", ENGINES)
def test_custom_query_is_filtered_by_day_and_typed(
    postgres_db: str, engine: str, tmp_path: Path
) -> None:
    summary = seed(sa.create_engine(postgres_db), list(DAYS))
    day = DAYS[2].isoformat()
    query = ("SELECT id, unit_cost::numeric AS cost, produced_at, 'a:b%' AS tag "
             "FROM production_result WHERE line_code LIKE 'L%'")
    rows, data = extract(postgres_db, engine, tmp_path, day, query=query,
                         date_column="produced_at")
    assert rows == summary.rows("production_result", day)
    assert data.schema.field("cost").type == pa.decimal128(38, 9)
    assert set(data.column("tag").to_pylist()) == {"a:b%"}


@pytest.mark.parametrize("engine", ENGINES)
def test_failed_consumer_releases_the_source_promptly(postgres_db: str, engine: str) -> None:
    """A writer that fails mid-stream must not wait for (or leak) the rest of the read."""
    execute(postgres_db, "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS v "
                         "FROM generate_series(1, 300000) AS g")
    request = ExtractRequest(table="big", query=None, columns=None, date_column=None,
                             window=None, batch_size=1000)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="disk full"), \
            open_reader(resolve_url(postgres_db, None), request, engine) as reader:
        assert reader.read_next_batch().num_rows == 1000
        raise RuntimeError("disk full")
    assert time.monotonic() - started < 10
    database = make_url(postgres_db).database
    check = sa.create_engine(postgres_db)
    with check.connect() as conn:
        sessions = conn.execute(sa.text(
            "SELECT state, left(query, 60) FROM pg_stat_activity "
            "WHERE datname = :db AND pid <> pg_backend_pid()"
        ), {"db": database}).all()
    check.dispose()
    assert sessions == []  # no COPY still running, no cursor left idle in transaction


@pytest.mark.parametrize("engine", ENGINES)
def test_wrong_password_is_one_clear_error_without_the_password(
    postgres_db: str, engine: str, tmp_path: Path
) -> None:
    storage = StorageResource(root=str(tmp_path / "lake"))
    bad = source(postgres_db, engine, password=WRONG_PASSWORD)
    with pytest.raises(SourceError, match="password authentication failed") as info:
        run_extract("t1", PipelineAssetConfig(name="p", table="t"), bad, storage, None)
    assert_no_secret(info.value, WRONG_PASSWORD)


def test_duckdb_attach_failure_is_redacted(postgres_db: str) -> None:
    """DuckDB echoes the whole connection string, password included, when ATTACH fails."""
    execute(postgres_db, "CREATE TABLE t (id int)")
    request = ExtractRequest(table="t", query=None, columns=None, date_column=None, window=None,
                             batch_size=1000)
    good = resolve_url(postgres_db, None)
    plan = plan_read(create_source_engine(good), request, None)
    with pytest.raises(SourceError, match="password authentication failed") as info, \
            open_duckdb_reader(good.set(password=WRONG_PASSWORD), plan, 1000):
        pass
    assert_no_secret(info.value, WRONG_PASSWORD)


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_table_and_column_are_named(postgres_db: str, engine: str, tmp_path: Path) -> None:
    execute(postgres_db, "CREATE TABLE t (id int, created_at timestamp)")
    with pytest.raises(SourceError, match="table 'nope' does not exist in the source"):
        extract(postgres_db, engine, tmp_path, table="nope")
    with pytest.raises(SourceError, match=r"column\(s\) \['nope'\] do not exist in table 't'"):
        extract(postgres_db, engine, tmp_path, table="t", columns=["id", "nope"])
    with pytest.raises(SourceError, match="date_column 'nope' does not exist in table 't'"):
        extract(postgres_db, engine, tmp_path, "2026-03-01", table="t", date_column="nope")


@pytest.mark.parametrize("engine", ENGINES)
def test_unreachable_port_is_one_clear_error(postgres_db: str, engine: str, tmp_path: Path) -> None:
    port = free_port()
    url = make_url(postgres_db).set(port=port).render_as_string(hide_password=False)
    with pytest.raises(SourceError, match=rf"cannot connect to postgresql://etl@127\.0\.0\.1:{port}/"
                       r".*Connection refused") as info:
        extract(url, engine, tmp_path, table="t")
    assert "etl:etl" not in str(info.value)


def test_duckdb_engine_refuses_other_dialects(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    sa.create_engine(f"sqlite:///{db}").dispose()
    db.touch()
    with pytest.raises(SourceError, match="engine 'duckdb' reads only PostgreSQL and MySQL"):
        extract(f"sqlite:///{db}", "duckdb", tmp_path, table="t")
