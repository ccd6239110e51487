"""Type fidelity without servers: conversions that never round, the partition column's name,
``column_types`` choices, logical types through transfer and DuckDB, and the type table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from etl import naming
from etl.common.transfer import standardize
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.s3 import StorageResource
from etl.sources.convert import fits, interval_from_text, to_decimal
from etl.sources.errors import SourceError
from etl.stages.extract import run_extract
from etl.stages.load import run_load
from etl.stages.outcome import table_schema
from etl.stages.transfer import run_transfer
from etl.utils.logical_types import INTERVAL, logical_type, metadata
from etl.warehouse.base import WarehouseError
from tests import type_table
from tests.helpers import duckdb_warehouse, source_resource, storage_resource

DAYS = ["2026-03-01", "2026-03-02"]


def sqlite_source(tmp: Path, *statements: str) -> str:
    path = tmp / "src.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()
    return f"sqlite:///{path}"


def written(storage: StorageResource, stage: naming.Stage, pipeline: str) -> list[str]:
    root = Path(storage.path(naming.dataset_path("t1", stage, pipeline)))
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet")) if root.exists() \
        else []


# --- decimals are converted exactly, or not at all ----------------------------------------


def test_text_decimals_convert_exactly_and_misfits_name_the_fixes() -> None:
    target = pa.decimal128(38, 9)
    # MySQL prints every declared decimal: the zeros are no digits of the value.
    text = pa.array(["1.500000000000000000000000000000", "-12345678901234567890.5", None, "7"])
    assert to_decimal(text, target, "n").to_pylist() == [
        Decimal("1.5"), Decimal("-12345678901234567890.5"), None, Decimal(7)]
    with pytest.raises(SourceError) as info:
        to_decimal(pa.array(["1", "3.14159265358979323846264338327950288"]), target, "n_free")
    assert str(info.value) == (
        "column 'n_free': the source value 3.14159265358979323846264338327950288 does not fit "
        "decimal(38,9) (at most 29 digits before the point and 9 after), and the extractor "
        "never rounds. Choose the column's type in the pipeline, column_types: {n_free: "
        "'decimal(38,35)'} ('string' keeps the source's exact text), or cast it in the "
        "pipeline's query, e.g. CAST(n_free AS DECIMAL(38,9)), which rounds on purpose")
    for value in ("NaN", "Infinity", "1" * 30, "0.0000000001"):
        assert not fits(value, target), value
    with pytest.raises(SourceError, match=r"value 1{40} .*column_types: \{n: 'string'\}"):
        to_decimal(pa.array(["1" * 40]), target, "n")


def test_interval_text_becomes_months_days_microseconds() -> None:
    parts = interval_from_text(pa.array(["14 3 14706789000", None, "0 -1 -1000000"]))
    assert parts.type == INTERVAL
    assert parts.to_pylist() == [{"months": 14, "days": 3, "microseconds": 14706789000}, None,
                                 {"months": 0, "days": -1, "microseconds": -1000000}]


def test_a_generic_source_decimal_that_does_not_fit_fails_naming_it(tmp_path: Path) -> None:
    """SQLite has no exact typing: the driver's Decimal must fit the planned type too."""
    url = sqlite_source(tmp_path, "CREATE TABLE m (code text, price numeric)",
                        "INSERT INTO m VALUES ('a', 1.25), ('b', 1.0000000001)")
    storage = storage_resource(str(tmp_path / "lake"))
    pipeline = PipelineAssetConfig(name="m", table="m")
    with pytest.raises(SourceError, match=r"column 'price': the source value 1\.0000000001 "):
        list(run_extract("t1", pipeline, source_resource(url), storage, None))
    assert written(storage, "extract", "m") == []
    as_text = pipeline.model_copy(update={"column_types": {"price": "string"}})
    ((_, outcome),) = run_extract("t1", as_text, source_resource(url), storage, None)
    # SQLite keeps numerics as floats; SQLAlchemy hands them over with 10 decimals.
    assert pq.read_table(outcome.uri).column("price").to_pylist() == ["1.2500000000",
                                                                       "1.0000000001"]


def test_the_writer_never_truncates_a_timestamp(tmp_path: Path) -> None:
    """Transfers may hand over nanoseconds; Parquet's µs must hold them exactly or fail."""
    storage = storage_resource(str(tmp_path / "lake"))
    exact = pa.table({"ts": pa.array([1_000, 2_000], pa.timestamp("ns"))})
    relative = naming.data_file_path("t1", "transfer", "p", DAYS[0])
    assert storage.write(relative, exact.to_reader()).schema.field("ts").type == pa.timestamp(
        "us")
    finer = pa.table({"ts": pa.array([1_000, 2_001], pa.timestamp("ns"))})
    with pytest.raises(ValueError, match=r"column 'ts': its timestamp\[ns\] values do not fit "
                                         r"timestamp\[us\] without loss"):
        storage.write(relative, finer.to_reader())
    assert pq.read_table(storage.path(relative)).num_rows == 2  # the previous file stays


# --- the partition column's name ------------------------------------------------------------


def test_a_source_column_named_like_the_partition_fails_before_any_file(tmp_path: Path) -> None:
    url = sqlite_source(tmp_path, "CREATE TABLE r (id int, DT text, at date)",
                        "INSERT INTO r VALUES (1, 'x', '2026-03-01'), (2, 'y', '2026-03-02')")
    storage = storage_resource(str(tmp_path / "lake"))
    source = source_resource(url)
    clash = PipelineAssetConfig(name="r", table="r", date_column="at")
    for days in (DAYS, DAYS[:1]):
        with pytest.raises(SourceError) as info:
            list(run_extract("t1", clash, source, storage, days))
        assert str(info.value) == naming.partition_clash_message("DT", "dt")
        assert "rename it in the pipeline's query" in str(info.value)
        assert "partition_column:" in str(info.value)
    query = clash.model_copy(update={"table": None, "query": "SELECT id, DT, at FROM r"})
    with pytest.raises(SourceError, match="has the name of the day partition column 'dt'"):
        list(run_extract("t1", query, source, storage, DAYS))  # known only when rows arrive
    assert written(storage, "extract", "r") == []
    other = clash.model_copy(update={"partition_column": "day"})
    assert [d for d, _ in run_extract("t1", other, source, storage, DAYS)] == DAYS
    assert written(storage, "extract", "r") == ["day=2026-03-01/data.parquet",
                                                "day=2026-03-02/data.parquet"]
    warehouse = duckdb_warehouse(tmp_path / "wh.duckdb", "t1")
    loaded = run_load("t1", other.model_copy(update={"save_to_trino": True}), storage,
                      warehouse, DAYS)
    assert {d: c.passed for d, c in loaded.checks.items()} == dict.fromkeys(DAYS, True)
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        assert con.sql("SELECT id, day FROM t1.r ORDER BY id").fetchall() == [
            (1, dt.date(2026, 3, 1)), (2, dt.date(2026, 3, 2))]


def test_the_load_refuses_a_partition_named_column_a_transfer_made(tmp_path: Path) -> None:
    storage = storage_resource(str(tmp_path / "lake"))
    data = pa.table({"id": [1], "Dt": ["x"]})
    storage.write(naming.data_file_path("t1", "extract", "p", DAYS[0]), data.to_reader())
    pipeline = PipelineAssetConfig(name="p", table="p", date_column="id", save_to_trino=True)
    with pytest.raises(WarehouseError, match="column 'Dt' has the name of the day partition"):
        run_load("t1", pipeline, storage, duckdb_warehouse(tmp_path / "wh.duckdb", "t1"),
                 DAYS[:1])


def test_column_types_that_cannot_work_are_refused_by_name(tmp_path: Path) -> None:
    url = sqlite_source(tmp_path, "CREATE TABLE c (id int, label text, at text)")
    storage = storage_resource(str(tmp_path / "lake"))
    cases = {
        "nope": "column_types names column(s) ['nope'] that table 'c' does not return",
        "at": "column_types: the date_column 'at' keeps its type",
        "label": "column_types: label: decimal(10,2) applies to exact numeric columns",
    }
    for column, message in cases.items():
        pipeline = PipelineAssetConfig(name="c", table="c", date_column="at",
                                       column_types={column: "decimal(10,2)"})
        with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")
                           .replace("[", r"\[").replace("]", r"\]")):
            list(run_extract("t1", pipeline, source_resource(url), storage, DAYS[:1]))


# --- logical types through the stages --------------------------------------------------------

TAGGED = pa.schema([
    pa.field("Order_Id", pa.string(), metadata=metadata("uuid")),
    pa.field("doc", pa.string(), metadata=metadata("json")),
    pa.field("mood", pa.string(), metadata=metadata("enum", ["sad", "ok"])),
    pa.field("qty", pa.int16()), pa.field("at", pa.time64("us")),
    pa.field("seen", pa.timestamp("us", tz="UTC")), pa.field("wait", INTERVAL),
])
ROWS = pa.table([
    pa.array(["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]), pa.array(['{"a": 1}']),
    pa.array(["ok"]), pa.array([3], pa.int16()), pa.array([dt.time(12, 30)], pa.time64("us")),
    pa.array([dt.datetime(2026, 3, 1, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")),
    pa.array([{"months": 1, "days": 2, "microseconds": 3}], INTERVAL),
], schema=TAGGED)


def test_transfer_keeps_logical_types_and_duckdb_gets_the_shared_schema(tmp_path: Path) -> None:
    storage = storage_resource(str(tmp_path / "lake"))
    storage.write(naming.data_file_path("t1", "extract", "o", DAYS[0]), ROWS.to_reader())
    pipeline = PipelineAssetConfig(name="o", table="o", date_column="seen", has_transfer=True,
                                   save_to_trino=True, primary_key=("Order_Id",))
    (result,) = run_transfer("t1", pipeline, standardize, storage, DAYS[:1])
    assert result.error is None and result.outcome is not None
    schema = pq.read_schema(result.outcome.uri)
    assert [logical_type(f) for f in schema] == ["uuid", "json", "enum", None, None, None, None]
    assert schema.names[0] == "order_id"  # snake-cased by the transfer, still a uuid
    columns = {c.name: c for c in table_schema(schema).columns}
    assert columns["order_id"].type == "string (uuid)"
    assert columns["mood"].constraints.other == ["one of ['sad', 'ok']"]

    path = tmp_path / "wh.duckdb"
    run_load("t1", pipeline, storage, duckdb_warehouse(path, "t1"), DAYS[:1])
    with duckdb.connect(str(path)) as con:
        types = con.sql("SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = 'o' ORDER BY ordinal_position").fetchall()
        row = con.sql("SELECT order_id, doc->>'a', wait.days FROM t1.o").fetchone()
    assert [t.replace('"', "") for _, t in types] == [
        "UUID", "JSON", "VARCHAR", "INTEGER", "TIME", "TIMESTAMP WITH TIME ZONE",
        "STRUCT(months INTEGER, days INTEGER, microseconds BIGINT)", "DATE"]
    assert row is not None and str(row[0]) == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert row[1:] == ("1", 2)


def test_duckdb_tables_of_earlier_versions_are_widened_in_place(tmp_path: Path) -> None:
    """Before, int16 columns were SMALLINT and uuids VARCHAR; the next load widens them."""
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA t1; CREATE TABLE t1.o (order_id VARCHAR, qty SMALLINT, "
                    "dt DATE); INSERT INTO t1.o VALUES ('00000000-0000-0000-0000-000000000000'"
                    ", 1, DATE '2026-02-28')")
    storage = storage_resource(str(tmp_path / "lake"))
    data = ROWS.select(["Order_Id", "qty"]).rename_columns(["order_id", "qty"])
    storage.write(naming.data_file_path("t1", "extract", "o", DAYS[0]), data.to_reader())
    pipeline = PipelineAssetConfig(name="o", table="o", date_column="seen", save_to_trino=True)
    loaded = run_load("t1", pipeline, storage, duckdb_warehouse(path, "t1"), DAYS[:1])
    assert loaded.extra == {} and all(c.passed for c in loaded.checks.values())
    with duckdb.connect(str(path)) as con:
        types = con.sql("SELECT data_type FROM information_schema.columns "
                        "WHERE table_name = 'o' ORDER BY ordinal_position").fetchall()
        assert con.sql("SELECT count(*) FROM t1.o").fetchone() == (2,)
    assert types == [("UUID",), ("INTEGER",), ("DATE",)]


# --- the README's table ----------------------------------------------------------------------


def test_the_type_table_is_the_one_the_tests_assert() -> None:
    """Refresh with ``python -m tests.type_table --write`` after changing the source cases."""
    assert type_table.SNAPSHOT.read_text(encoding="utf-8") == type_table.render()
    for name in ("README.md", "README.ko.md"):
        readme = (naming.PACKAGE_DIR.parent / name).read_text(encoding="utf-8")
        assert type_table.readme_block(readme) == type_table.render(), name
