"""MariaDB (MySQL protocol) sources on a real server: exact types, day windows, pipelines, errors.

Every read runs through both readers (DuckDB's mysql scanner and the generic SQLAlchemy path)
and must produce the same Parquet: same Arrow types, same values.
"""

from __future__ import annotations

import datetime as dt
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
from etl.sources import ExtractRequest, SourceError
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

EVERY_TYPE_DDL = [
    "SET time_zone = '+00:00'",  # TIMESTAMP literals below are UTC
    """CREATE TABLE every_type (
        id int PRIMARY KEY,
        c_tinyint tinyint, c_tinyint_u tinyint unsigned, c_smallint smallint,
        c_smallint_u smallint unsigned, c_mediumint mediumint, c_mediumint_u mediumint unsigned,
        c_int int, c_int_u int unsigned, c_bigint bigint, c_bigint_u bigint unsigned,
        c_decimal decimal(38, 10), c_decimal_18_4 decimal(18, 4), c_decimal_wide decimal(65, 5),
        c_float float, c_double double, c_boolean boolean, c_bit1 bit(1),
        c_text text, c_varchar varchar(10), c_char char(5),
        c_date date, c_time time(6), c_datetime datetime(6), c_timestamp timestamp(6) NULL,
        c_json json, c_blob blob, c_varbinary varbinary(16), c_uuid uuid,
        c_enum enum('sad', 'ok', 'happy'), c_set set('a', 'b')
    )""",
    """INSERT INTO every_type VALUES
    (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
     -9223372036854775808, 18446744073709551615,
     9999999999999999999999999999.9999999999, 99999999999999.9999,
     123456789012345678901234567890123456789012345678901234567890.12345,
     1.5, 1.7976931348623157e308, true, b'1', 'héllo ☃ 世界', 'abcdefghij', 'ab',
     '9999-12-31', '838:59:59', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999',
     '{"a": [1, 2.5, null]}', x'00ff10', x'', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     'happy', 'a,b'),
    (2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
     -0.0000000001, -99999999999999.9999, 0, -1.5, 2.2250738585072014e-308, false, b'0',
     '', '', '', '1000-01-01', '-838:59:59.999999', '1000-01-01 00:00:00',
     '1970-01-01 00:00:01', 'null', x'', x'00', '00000000-0000-0000-0000-000000000000',
     'sad', ''),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL)""",
]

# column -> (Arrow type in the Parquet file, values of rows 1, 2, 3). Unsigned integers are
# widened by the Parquet writer; BOOLEAN is TINYINT(1) in MySQL and stays int8.
EVERY_TYPE: dict[str, tuple[pa.DataType, list[Any]]] = {
    "id": (pa.int32(), [1, 2, 3]),
    "c_tinyint": (pa.int8(), [-128, 127, None]),
    "c_tinyint_u": (pa.int16(), [255, 0, None]),
    "c_smallint": (pa.int16(), [-32768, 32767, None]),
    "c_smallint_u": (pa.int32(), [65535, 0, None]),
    "c_mediumint": (pa.int32(), [-8388608, 8388607, None]),
    "c_mediumint_u": (pa.int64(), [16777215, 0, None]),
    "c_int": (pa.int32(), [-2147483648, 2147483647, None]),
    "c_int_u": (pa.int64(), [4294967295, 0, None]),
    "c_bigint": (pa.int64(), [-9223372036854775808, 9223372036854775807, None]),
    "c_bigint_u": (pa.decimal128(20, 0), [Decimal("18446744073709551615"), Decimal(0), None]),
    "c_decimal": (pa.decimal128(38, 10), [Decimal("9999999999999999999999999999.9999999999"),
                                          Decimal("-0.0000000001"), None]),
    "c_decimal_18_4": (pa.decimal128(18, 4), [Decimal("99999999999999.9999"),
                                              Decimal("-99999999999999.9999"), None]),
    "c_decimal_wide": (pa.string(), [
        "123456789012345678901234567890123456789012345678901234567890.12345", "0.00000", None]),
    "c_float": (pa.float32(), [1.5, -1.5, None]),
    "c_double": (pa.float64(), [1.7976931348623157e308, 2.2250738585072014e-308, None]),
    "c_boolean": (pa.int8(), [1, 0, None]),
    "c_bit1": (pa.bool_(), [True, False, None]),
    "c_text": (pa.string(), ["héllo ☃ 世界", "", None]),
    "c_varchar": (pa.string(), ["abcdefghij", "", None]),
    "c_char": (pa.string(), ["ab", "", None]),
    "c_date": (pa.date32(), [dt.date(9999, 12, 31), dt.date(1000, 1, 1), None]),
    "c_time": (pa.string(), ["838:59:59.000000", "-838:59:59.999999", None]),
    "c_datetime": (pa.timestamp("us"), [dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
                                        dt.datetime(1000, 1, 1), None]),
    "c_timestamp": (pa.timestamp("us", tz="UTC"), [
        dt.datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=dt.UTC),
        dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC), None]),
    "c_json": (pa.string(), ['{"a": [1, 2.5, null]}', "null", None]),
    "c_blob": (pa.binary(), [b"\x00\xff\x10", b"", None]),
    "c_varbinary": (pa.binary(), [b"", b"\x00", None]),
    "c_uuid": (pa.string(), ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                             "00000000-0000-0000-0000-000000000000", None]),
    "c_enum": (pa.string(), ["happy", "sad", None]),
    "c_set": (pa.string(), ["a,b", "", None]),
}





@pytest.mark.parametrize("engine", ENGINES)
def test_every_type_lands_in_parquet_exactly(mariadb_db: str, engine: str, tmp_path: Path) -> None:
    execute(mariadb_db, *EVERY_TYPE_DDL)
    rows, table = extract(mariadb_db, engine, tmp_path, table="every_type")
    assert rows == 3
    table = table.sort_by("id")
    assert table.column_names == list(EVERY_TYPE)
    for name, (typ, values) in EVERY_TYPE.items():
        assert table.schema.field(name).type == typ, (name, table.schema.field(name))
        assert table.column(name).to_pylist() == values, name


def test_both_engines_write_the_same_file(mariadb_db: str, tmp_path: Path) -> None:
    execute(mariadb_db, *EVERY_TYPE_DDL)
    _, fast = extract(mariadb_db, "duckdb", tmp_path, table="every_type")
    _, generic = extract(mariadb_db, "sqlalchemy", tmp_path, table="every_type")
    assert fast.schema == generic.schema
    assert fast.sort_by("id").equals(generic.sort_by("id"))


@pytest.mark.parametrize("engine", ENGINES)
def test_pipeline_day_and_whole_table_counts_match_the_seed(
    mariadb_db: str, engine: str, tmp_path: Path
) -> None:
    summary = seed(sa.create_engine(mariadb_db), list(DAYS))
    day = DAYS[1].isoformat()
    for table, date_column in (("work_order", "created_at"), ("production_result", "produced_at"),
                               ("quality_inspection", "inspected_at")):
        rows, data = extract(mariadb_db, engine, tmp_path, day, table=table,
                             date_column=date_column)
        assert rows == data.num_rows == summary.rows(table, day), table
        assert {d.date() for d in data.column(date_column).to_pylist()} == {DAYS[1]}
        rows, data = extract(mariadb_db, engine, tmp_path, None, table=table,
                             date_column=date_column)
        assert rows == data.num_rows == summary.rows(table), table
    rows, items = extract(mariadb_db, engine, tmp_path, table="CFG_ITEM_MASTER")
    assert rows == summary.items
    assert items.schema.field("STD_COST").type == pa.decimal128(12, 4)
    _, results = extract(mariadb_db, engine, tmp_path, day, table="production_result",
                         date_column="produced_at")
    assert results.schema.field("unit_cost").type == pa.decimal128(12, 4)
    assert results.schema.field("produced_at").type == pa.timestamp("us")


@pytest.mark.parametrize("engine", ENGINES)
def test_timestamp_day_is_the_tenant_zone_day(
    mariadb_db: str, engine: str, tmp_path: Path
) -> None:
    # 2026-03-02 in Asia/Seoul (+09) is [2026-03-01 15:00Z, 2026-03-02 15:00Z).
    execute(
        mariadb_db,
        "SET time_zone = '+00:00'",
        "CREATE TABLE events (id int, at timestamp(6) NULL, local_at datetime(6))",
        """INSERT INTO events VALUES
          (1, '2026-03-01 14:59:59.999999', '2026-03-01 23:59:59.999999'),
          (2, '2026-03-01 15:00:00', '2026-03-02 00:00:00'),
          (3, '2026-03-02 14:59:59.999999', '2026-03-02 23:59:59.999999'),
          (4, '2026-03-02 15:00:00', '2026-03-03 00:00:00')""",
    )
    storage = StorageResource(root=str(tmp_path / "lake"))
    for column in ("at", "local_at"):
        config = PipelineAssetConfig(name=f"events_{column}", table="events", date_column=column)
        outcome = run_extract("t1", config, source(mariadb_db, engine, timezone="Asia/Seoul"),
                              storage, "2026-03-02")
        data = pq.read_table(outcome.uri).sort_by("id")
        assert data.column("id").to_pylist() == [2, 3], column
    assert data.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert data.column("at").to_pylist()[0] == dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC)
    assert data.column("local_at").to_pylist()[0] == dt.datetime(2026, 3, 2)  # not shifted


def test_custom_query_is_filtered_by_day_and_typed_alike(mariadb_db: str, tmp_path: Path) -> None:
    summary = seed(sa.create_engine(mariadb_db), list(DAYS))
    day = DAYS[2].isoformat()
    query = ("SELECT id, unit_cost * 2 AS cost, produced_at, 'a:b%' AS tag, "
             "CAST(line_code AS BINARY) AS raw FROM production_result WHERE line_code LIKE 'L%'")
    tables = {}
    for engine in ENGINES:
        rows, tables[engine] = extract(mariadb_db, engine, tmp_path, day, query=query,
                                       date_column="produced_at")
        assert rows == summary.rows("production_result", day)
        assert set(tables[engine].column("tag").to_pylist()) == {"a:b%"}
        assert pa.types.is_decimal(tables[engine].schema.field("cost").type)
    assert tables["duckdb"].schema == tables["sqlalchemy"].schema
    assert tables["duckdb"].sort_by("id").equals(tables["sqlalchemy"].sort_by("id"))


@pytest.mark.parametrize("engine", ENGINES)
def test_wrong_password_is_one_clear_error_without_the_password(
    mariadb_db: str, engine: str, tmp_path: Path
) -> None:
    storage = StorageResource(root=str(tmp_path / "lake"))
    bad = source(mariadb_db, engine, password=WRONG_PASSWORD)
    with pytest.raises(SourceError, match="Access denied for user 'etl'") as info:
        run_extract("t1", PipelineAssetConfig(name="p", table="t"), bad, storage, None)
    assert_no_secret(info.value, WRONG_PASSWORD)


def test_duckdb_attach_failure_is_redacted(mariadb_db: str) -> None:
    """DuckDB echoes the connection parameters, password included, when ATTACH fails."""
    execute(mariadb_db, "CREATE TABLE t (id int)")
    request = ExtractRequest(table="t", query=None, columns=None, date_column=None, window=None,
                             batch_size=1000)
    good = resolve_url(mariadb_db, None)
    plan = plan_read(create_source_engine(good), request, None)
    with pytest.raises(SourceError, match="Access denied for user 'etl'") as info, \
            open_duckdb_reader(good.set(password=WRONG_PASSWORD), plan, 1000):
        pass
    assert_no_secret(info.value, WRONG_PASSWORD)


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_table_and_column_are_named(mariadb_db: str, engine: str, tmp_path: Path) -> None:
    execute(mariadb_db, "CREATE TABLE t (id int, created_at datetime)")
    with pytest.raises(SourceError, match="table 'nope' does not exist in the source"):
        extract(mariadb_db, engine, tmp_path, table="nope")
    with pytest.raises(SourceError, match=r"column\(s\) \['nope'\] do not exist in table 't'"):
        extract(mariadb_db, engine, tmp_path, table="t", columns=["id", "nope"])
    with pytest.raises(SourceError, match="date_column 'nope' does not exist in table 't'"):
        extract(mariadb_db, engine, tmp_path, "2026-03-01", table="t", date_column="nope")


@pytest.mark.parametrize("engine", ENGINES)
def test_unreachable_port_is_one_clear_error(mariadb_db: str, engine: str, tmp_path: Path) -> None:
    port = free_port()
    url = make_url(mariadb_db).set(port=port).render_as_string(hide_password=False)
    with pytest.raises(SourceError, match=rf"cannot connect to mysql://etl@127\.0\.0\.1:{port}/"
                       r".*Connection refused") as info:
        extract(url, engine, tmp_path, table="t")
    assert "etl:etl" not in str(info.value)
