"""The common extract, transfer and load stages on the embedded defaults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from etl.common.transfer import TransferContext, standardize
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.rdb import SourceDatabaseResource
from etl.resources.s3 import StorageResource
from etl.sources.errors import SourceError
from etl.stages.extract import run_extract
from etl.stages.load import run_load
from etl.stages.outcome import StageOutcome
from etl.stages.transfer import run_transfer, sql_transfer
from etl.utils.parquet import STAGING_PREFIX, write_parquet_atomic
from etl.warehouse.base import LoadRequest, SchemaDriftError, Warehouse
from tests.helpers import DAYS, duckdb_warehouse, seed_tenant, source_resource, storage_resource

DAY = DAYS[0].isoformat()


@pytest.fixture
def env(tmp_path: Path) -> tuple[SourceDatabaseResource, StorageResource, Warehouse]:
    seed_tenant(tmp_path, "t1")
    source = source_resource(f"sqlite:///{tmp_path}/.etl/sources/t1.db", batch_size=1000)
    storage = storage_resource(str(tmp_path / "lake"))
    return source, storage, duckdb_warehouse(tmp_path / "wh.duckdb", "t1")


def extract_day(source: SourceDatabaseResource, storage: StorageResource,
                p: PipelineAssetConfig, day: str = DAY) -> StageOutcome:
    ((written, outcome),) = run_extract("t1", p, source, storage, [day])
    assert written == day
    return outcome


def pipeline(**kw: object) -> PipelineAssetConfig:
    base: dict[str, object] = {"name": "production_result", "table": "production_result",
                               "date_column": "produced_at", "primary_key": ["id"],
                               "has_transfer": True, "save_to_trino": True}
    return PipelineAssetConfig.model_validate({**base, **kw})


def test_extract_writes_one_day_with_exact_types(env: tuple) -> None:  # type: ignore[type-arg]
    source, storage, _ = env
    outcome = extract_day(source, storage, pipeline())
    table = pq.read_table(outcome.uri)
    assert outcome.rows == table.num_rows > 0
    assert table.schema.field("unit_cost").type == pa.decimal128(12, 4)
    assert table.schema.field("produced_at").type == pa.timestamp("us")
    days = {v.date() for v in table.column("produced_at").to_pylist()}
    assert days == {DAYS[0]}
    assert outcome.uri.endswith(f"t1/extract/production_result/dt={DAY}/data.parquet")
    meta = outcome.metadata()
    assert meta["dagster/row_count"] == outcome.rows and meta["bytes"] > 0


def test_extract_of_a_query_and_selected_columns(env: tuple) -> None:  # type: ignore[type-arg]
    source, storage, _ = env
    by_query = pipeline(table=None, query="SELECT id, produced_qty, produced_at FROM "
                        "production_result WHERE defect_qty >= 0")
    rows_q = extract_day(source, storage, by_query).rows
    by_cols = pipeline(columns=["id", "produced_at"])
    outcome = extract_day(source, storage, by_cols)
    assert outcome.rows == rows_q
    assert pq.read_schema(outcome.uri).names == ["id", "produced_at"]


def test_missing_table_and_column_errors_are_clear(env: tuple) -> None:  # type: ignore[type-arg]
    source, storage, _ = env
    with pytest.raises(SourceError, match="table 'nope' does not exist in the source"):
        extract_day(source, storage, pipeline(table="nope"))
    with pytest.raises(SourceError, match=r"column\(s\) \['nope'\] do not exist"):
        extract_day(source, storage, pipeline(columns=["nope", "produced_at"]))


def test_failed_write_keeps_the_previous_partition(tmp_path: Path) -> None:
    fs = pafs.LocalFileSystem()
    target = f"{tmp_path}/t/dt=2026-03-01/data.parquet"
    schema = pa.schema([("x", pa.int64())])
    first = pa.table({"x": [1, 2, 3]})
    write_parquet_atomic(fs, target, first.to_reader())

    def failing() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch({"x": [7, 8]}, schema=schema)
        raise RuntimeError("connection lost mid-stream")

    with pytest.raises(RuntimeError, match="connection lost"):
        write_parquet_atomic(fs, target, pa.RecordBatchReader.from_batches(schema, failing()))
    assert pq.read_table(target).column("x").to_pylist() == [1, 2, 3]
    assert not [p for p in Path(target).parent.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_writer_normalises_types(tmp_path: Path) -> None:
    fs = pafs.LocalFileSystem()
    table = pa.table({
        "ts": pa.array([dt.datetime(2026, 1, 1, 1, 2, 3, 456789)], pa.timestamp("ns")),
        "u32": pa.array([4_000_000_000], pa.uint32()),
        "u64": pa.array([2**64 - 1], pa.uint64()),
        "cat": pa.array(["a"]).dictionary_encode(),
    })
    write_parquet_atomic(fs, f"{tmp_path}/x.parquet", table.to_reader())
    out = pq.read_table(f"{tmp_path}/x.parquet")
    assert out.schema.field("ts").type == pa.timestamp("us")
    assert out.schema.field("u32").type == pa.int64()
    assert out.schema.field("u64").type == pa.decimal128(20, 0)
    assert out.column("u64").to_pylist() == [Decimal(2**64 - 1)]
    assert out.schema.field("cat").type == pa.string()


def test_standardize_snake_cases_and_dedupes() -> None:
    con = duckdb.connect()
    source = con.from_arrow(pa.table({
        "ItemCode": ["A", "A", "B"], "UpdatedAt": [1, 2, 1], "Qty": [1, 2, 3]}))
    p = pipeline(primary_key=["ItemCode"], date_column="UpdatedAt")
    out = standardize(source, TransferContext("t1", p, None, con)).arrow()
    out_table = out.read_all() if isinstance(out, pa.RecordBatchReader) else out
    rows = sorted(out_table.to_pylist(), key=lambda r: r["item_code"])
    assert rows == [{"item_code": "A", "updated_at": 2, "qty": 2},
                    {"item_code": "B", "updated_at": 1, "qty": 3}]


def test_transfer_and_load_replace_a_day(env: tuple) -> None:  # type: ignore[type-arg]
    source, storage, warehouse = env
    p = pipeline(transfer={"sql": "SELECT id, produced_qty * 2 AS doubled FROM source"})
    extracted = extract_day(source, storage, p)
    (result,) = run_transfer("t1", p, sql_transfer("SELECT id, produced_qty * 2 AS doubled "
                                                   "FROM source"), storage, [DAY])
    transferred = result.outcome
    assert transferred is not None and result.error is None
    assert transferred.rows == extracted.rows
    for _ in range(2):
        loaded = run_load("t1", p, storage, warehouse, [DAY])
        assert loaded.checks[DAY].passed and loaded.outcomes[DAY].rows == extracted.rows
    assert warehouse.count_days("production_result", [DAY], None)[DAY] == extracted.rows


def test_load_before_extract_names_the_missing_asset(env: tuple) -> None:  # type: ignore[type-arg]
    _, storage, warehouse = env
    with pytest.raises(FileNotFoundError, match="materialize t1/transfer/production_result"):
        run_load("t1", pipeline(), storage, warehouse, [DAY])


def _load(warehouse: Warehouse, table: pa.Table, day: str,
          policy: str = "add_columns") -> None:
    days = pa.array([dt.date.fromisoformat(day)] * table.num_rows, pa.date32())
    warehouse.load(LoadRequest(
        table="drift", days=(day,), schema=table.schema,
        data=pads.dataset(table.append_column("dt", days)), dataset_uri="mem", mode=None,
        schema_drift=policy,  # type: ignore[arg-type]
    ))


def test_duckdb_schema_drift(env: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    _, _, warehouse = env
    _load(warehouse, pa.table({"id": [1], "qty": pa.array([1], pa.int32())}), "2026-03-01")
    _load(warehouse, pa.table({"id": [2], "qty": pa.array([2], pa.int32()), "note": ["n"]}),
          "2026-03-02")
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        assert con.sql('SELECT note FROM t1.drift ORDER BY id').fetchall() == [(None,), ("n",)]
    with pytest.raises(SchemaDriftError, match="column 'qty' is INTEGER in the table but VARCHAR"):
        _load(warehouse, pa.table({"id": [3], "qty": ["x"], "note": ["n"]}), "2026-03-03")
    dropped = r"column\(s\) \['note'\] exist in the table but not"
    with pytest.raises(SchemaDriftError, match=dropped):
        _load(warehouse, pa.table({"id": [3], "qty": pa.array([2], pa.int32())}), "2026-03-03")
    with pytest.raises(SchemaDriftError, match="schema_drift is 'fail'"):
        _load(warehouse, pa.table({"id": [3], "qty": pa.array([2], pa.int32()), "note": ["n"],
                                   "extra": [1]}), "2026-03-03", policy="fail")
    assert warehouse.count_days("drift", ["2026-03-03"], None)["2026-03-03"] == 0


def test_sqlite_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    source = source_resource(f"sqlite:///{tmp_path}/none.db")
    storage = storage_resource(str(tmp_path / "lake"))
    with pytest.raises(SourceError, match=r"none\.db does not exist"):
        extract_day(source, storage, pipeline())


def test_storage_is_safe_to_share_between_threads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(20):
        store = storage_resource(str(tmp_path / "lake"))
        with ThreadPoolExecutor(8) as pool:
            bases = {f.result()[1] for f in [pool.submit(store.filesystem) for _ in range(32)]}
        assert bases == {str((tmp_path / "lake").resolve())}


def test_standardize_is_deterministic_without_a_date_and_rejects_name_clashes() -> None:
    con = duckdb.connect()
    p = pipeline(primary_key=["Code"], date_column=None, table="m")
    rows = {"Code": ["A", "A", "A"], "Name": ["z", "b", "m"]}
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        source = con.from_arrow(pa.table({k: [v[i] for i in order] for k, v in rows.items()}))
        kept = standardize(source, TransferContext("t1", p, None, con)).fetchall()
        assert kept == [("A", "b")]
    clash = con.from_arrow(pa.table({"ItemCode": [1], "item_code": [2]}))
    with pytest.raises(ValueError, match=r"all become \['item_code'\] in snake_case"):
        standardize(clash, TransferContext("t1", p, None, con))


def test_duckdb_file_named_like_the_tenant_schema(tmp_path: Path) -> None:
    """``t1.duckdb`` has catalog ``t1``: the tenant's schema ``t1`` must still be found."""
    warehouse = duckdb_warehouse(tmp_path / "t1.duckdb", "t1")
    for _ in range(2):
        _load(warehouse, pa.table({"id": [1, 2]}), "2026-03-01")
    assert warehouse.count_days("drift", ["2026-03-01"], None) == {"2026-03-01": 2}
    assert warehouse.count_all("drift", None) == 2


def test_a_local_range_load_reads_the_files_under_its_memory_limit(tmp_path: Path) -> None:
    """A local lake's days are read by DuckDB's own Parquet reader, under the load's
    memory_limit: a column added mid-range is NULL on the earlier days, the day comes from the
    file's folder only (``name=value`` folders above the lake are not columns), and a range
    far larger than the limit loads in full."""
    from etl import naming
    from etl.warehouse.duckdb_loader import DuckDBWarehouse

    storage = storage_resource(str(tmp_path / "x=1" / "dt=1999-01-01" / "lake"))
    days = [f"2026-03-{d:02d}" for d in range(1, 11)]
    rows = 100_000
    for i, day in enumerate(days):
        table = pa.table({"id": pa.array(range(i * rows, (i + 1) * rows), pa.int64()),
                          "text": pa.array([f"row {n:>40}" for n in range(rows)])})
        if i >= 5:  # a column the source gained on the sixth day
            table = table.append_column("note", pa.array([day] * rows))
        storage.write(naming.data_file_path("t1", "extract", "events", day), table.to_reader())
    warehouse = DuckDBWarehouse(str(tmp_path / "wh.duckdb"), "t1", memory_limit="32MB")
    p = PipelineAssetConfig.model_validate({"name": "events", "table": "events",
                                            "date_column": "at", "save_to_trino": True})
    loaded = run_load("t1", p, storage, warehouse, days)
    assert all(loaded.checks[d].passed for d in days), loaded.checks
    assert {d: o.rows for d, o in loaded.outcomes.items()} == dict.fromkeys(days, rows)
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        columns = [c[0] for c in con.sql("DESCRIBE t1.events").fetchall()]
        assert columns == ["id", "text", "note", "dt"]
        per_day = con.sql("SELECT strftime(dt, '%Y-%m-%d'), count(*), count(note), "
                          "min(id), max(id) FROM t1.events GROUP BY 1 ORDER BY 1").fetchall()
    assert per_day == [(d, rows, rows if i >= 5 else 0, i * rows, (i + 1) * rows - 1)
                       for i, d in enumerate(days)]


def test_not_null_source_columns_stay_not_null_to_the_warehouse(
        env: tuple) -> None:  # type: ignore[type-arg]
    """Parquet's required fields, the DuckDB table's NOT NULL and Dagster's column schema say
    what the source table says; a query's columns (nothing declares them) stay nullable."""
    source, storage, warehouse = env
    p = pipeline(has_transfer=False)
    outcome = extract_day(source, storage, p)
    schema = pq.read_schema(outcome.uri)
    assert not schema.field("id").nullable and not schema.field("defect_qty").nullable
    assert schema.field("unit_cost").nullable
    shown = {c.name: c.constraints.nullable
             for c in outcome.metadata()["dagster/column_schema"].columns}
    assert shown["produced_qty"] is False and shown["unit_cost"] is True
    run_load("t1", p, storage, warehouse, [DAY])
    with warehouse.connect(read_only=True) as con:  # type: ignore[attr-defined]
        nullable = dict(con.execute(
            "SELECT column_name, is_nullable FROM information_schema.columns "
            "WHERE table_name = 'production_result'").fetchall())
    assert nullable["defect_qty"] == "NO" and nullable["dt"] == "NO"
    assert nullable["unit_cost"] == "YES"
    queried = extract_day(source, storage, pipeline(
        name="by_query", table=None, has_transfer=False,
        query="SELECT id, produced_at, defect_qty FROM production_result"))
    assert all(f.nullable for f in pq.read_schema(queried.uri))


@pytest.mark.parametrize("configured", [None, "1GB"])
def test_each_duckdb_write_runs_under_its_memory_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: str | None) -> None:
    """A load runs under 64MB by default and an incremental merge, whose key comparison holds
    the keys in memory, under 128MB; ``warehouse.memory_limit`` sets both. Read back from
    DuckDB itself while each write runs."""
    from etl.warehouse.base import LakeFile, MergeRequest
    from etl.warehouse.duckdb import DuckDBWarehouseConfig
    from etl.warehouse.duckdb_file import DuckDBFile

    seen: list[str] = []
    writing = DuckDBFile.writing

    def spy(self: DuckDBFile, con: duckdb.DuckDBPyConnection, default_limit: str) -> object:
        counted = writing(self, con, default_limit)
        row = con.execute("SELECT current_setting('memory_limit')").fetchone()
        seen.append(str(row[0]) if row else "")
        return counted

    monkeypatch.setattr(DuckDBFile, "writing", spy)

    def limit(size: str) -> str:
        with duckdb.connect() as con:
            con.execute(f"SET memory_limit = '{size}'")
            row = con.execute("SELECT current_setting('memory_limit')").fetchone()
        return str(row[0]) if row else ""

    config = DuckDBWarehouseConfig(type="duckdb", path=str(tmp_path / "wh.duckdb"),
                                   memory_limit=configured)
    warehouse = config.build_resource("t1").warehouse()
    _load(warehouse, pa.table({"id": [1, 2]}), "2026-03-01")
    file = tmp_path / "changes" / "data.parquet"
    file.parent.mkdir()
    pq.write_table(pa.table({"id": [1, 2]}), file)
    warehouse.merge(MergeRequest(
        table="items", key=("id",), full=True, mode=None, schema_drift="fail",
        rows=LakeFile(pads.dataset(str(file)), pq.read_schema(file), str(file.parent),
                      (str(file),))))
    assert seen == ([limit("64MB"), limit("128MB")] if configured is None
                    else [limit(configured)] * 2)


def test_a_write_out_of_memory_names_the_setting_the_tenant_owns(tmp_path: Path) -> None:
    """DuckDB's own advice (``SET memory_limit``) is not one a config can follow: the error
    says which limit the write ran under and to raise ``warehouse.memory_limit``, and no retry
    is spent on it."""
    from etl.stages.retries import is_transient
    from etl.warehouse.base import LakeFile, MergeRequest, WarehouseError
    from etl.warehouse.duckdb import DuckDBWarehouseConfig

    def lake(name: str, table: pa.Table) -> LakeFile:
        file = tmp_path / name / "data.parquet"
        file.parent.mkdir()
        pq.write_table(table, file)
        return LakeFile(pads.dataset(str(file)), pq.read_schema(file), str(file.parent),
                        (str(file),))

    def warehouse(limit: str | None) -> object:
        config = DuckDBWarehouseConfig(type="duckdb", path=str(tmp_path / "wh.duckdb"),
                                       memory_limit=limit)
        return config.build_resource("t1").warehouse()

    rows = 300_000
    everything = pa.table({"id": pa.array(range(rows), pa.int64()),
                           "v": pa.array(range(rows), pa.int64())})
    warehouse(None).merge(MergeRequest(  # type: ignore[attr-defined]
        table="items", key=("id",), full=True, mode=None, schema_drift="fail",
        rows=lake("all", everything)))
    with pytest.raises(WarehouseError) as raised:
        warehouse("4MB").merge(MergeRequest(  # type: ignore[attr-defined]
            table="items", key=("id",), full=False, mode=None, schema_drift="fail",
            rows=lake("changes", everything.slice(0, 10)), deletes="hard",
            keys=lake("keys", everything.select(["id"]).slice(0, rows - 1000))))
    message = str(raised.value)
    assert "Out of Memory Error" in message, message
    assert ("this write ran under 4MB: raise warehouse.memory_limit in the tenant's "
            "config.yaml") in message, message
    assert "SET memory_limit" not in message
    assert not is_transient(raised.value)
