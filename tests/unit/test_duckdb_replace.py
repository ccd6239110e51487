"""A DuckDB write that replaces many rows: the days of a range loaded again, master data, an
incremental pipeline's full refresh.

DuckDB holds a transaction's deleted rows in memory beside the rows it inserts, so a load
that replaces millions of rows rebuilds the table instead of deleting them in place
(:meth:`etl.warehouse.duckdb_file.DuckDBFile.clear`). The rebuilt table must be the table the
in-place delete would have left: the same rows, columns, types and NOT NULL constraints, and
what reads it by name (a view) still reads it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from etl.warehouse import duckdb_file
from etl.warehouse.base import LakeFile, LoadRequest, MergeRequest
from etl.warehouse.duckdb_loader import DuckDBWarehouse
from tests.duckdb_statements import record_statements

DAYS = [f"2026-03-{d:02d}" for d in range(1, 7)]


def day_files(root: Path, table: pa.Table, days: list[str], tag: str) -> tuple[str, ...]:
    paths = []
    for day in days:
        path = root / tag / f"dt={day}" / "data.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(table, path)
        paths.append(str(path))
    return tuple(paths)


def load(warehouse: DuckDBWarehouse, paths: tuple[str, ...], days: list[str] | None) -> None:
    warehouse.load(LoadRequest(
        table="ev", days=tuple(days) if days is not None else None,
        schema=pq.read_schema(paths[0]), data=pads.dataset(list(paths)), dataset_uri="lake",
        mode=None, schema_drift="add_columns", local_paths=paths))


def snapshot(path: Path, order: str = "dt, id") -> tuple[object, ...]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(f"SELECT * FROM wh.t1.ev ORDER BY {order}").fetchall()
        columns = con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = 'ev' ORDER BY ordinal_position").fetchall()
        tables = con.execute("SELECT table_name FROM information_schema.tables "
                             "WHERE table_schema = 't1' ORDER BY 1").fetchall()
        view = con.execute("SELECT * FROM wh.t1.ev_days").fetchall()
    return rows, columns, tables, view


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return record_statements(monkeypatch)


@pytest.mark.parametrize("rebuild", [False, True])
def test_a_rebuilt_table_is_the_table_an_in_place_delete_leaves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statements: list[str],
        rebuild: bool) -> None:
    """Days 1-6 loaded, then days 2-4 again with a column more: both ways end with the same
    rows, columns, NOT NULL constraints and view, and nothing else in the schema."""
    if rebuild:
        monkeypatch.setattr(duckdb_file, "IN_PLACE_DELETE_MAX_ROWS", 0)
    first = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "amount": pa.array(
        [1.5, None, 2.5])}, schema=pa.schema([pa.field("id", pa.int64(), nullable=False),
                                              pa.field("amount", pa.float64())]))
    again = pa.table({"id": pa.array([7, 8], pa.int64()), "amount": [9.0, 9.5],
                      "note": ["n", None]},
                     schema=pa.schema([pa.field("id", pa.int64(), nullable=False),
                                       pa.field("amount", pa.float64()),
                                       pa.field("note", pa.string())]))
    warehouse = DuckDBWarehouse(str(tmp_path / "wh.duckdb"), "t1")
    load(warehouse, day_files(tmp_path, first, DAYS, "first"), DAYS)
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute("CREATE VIEW t1.ev_days AS SELECT dt, count(*) AS n FROM t1.ev GROUP BY dt "
                    "ORDER BY dt")
    statements.clear()
    load(warehouse, day_files(tmp_path, again, DAYS[1:4], "again"), DAYS[1:4])
    assert any(duckdb_file.REBUILD_SUFFIX in s for s in statements) == rebuild
    rows, columns, tables, view = snapshot(tmp_path / "wh.duckdb")
    day = dt.date.fromisoformat
    assert rows == sorted(
        [(i, a, day(d), None) for d in DAYS[:1] + DAYS[4:] for i, a in ((1, 1.5), (2, None),
                                                                         (3, 2.5))]
        + [(i, a, day(d), n) for d in DAYS[1:4] for i, a, n in ((7, 9.0, "n"),
                                                                (8, 9.5, None))],
        key=lambda r: (r[2], r[0]))
    assert columns == [("id", "BIGINT", "NO"), ("amount", "DOUBLE", "YES"),
                       ("dt", "DATE", "NO"), ("note", "VARCHAR", "YES")]
    assert tables == [("ev",), ("ev_days",)]
    assert view == [(day(d), 3 if d in DAYS[:1] + DAYS[4:] else 2) for d in DAYS]


def test_master_data_and_a_full_refresh_are_replaced_by_rebuilding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statements: list[str]) -> None:
    monkeypatch.setattr(duckdb_file, "IN_PLACE_DELETE_MAX_ROWS", 0)
    warehouse = DuckDBWarehouse(str(tmp_path / "wh.duckdb"), "t1")
    for tag, ids in (("one", [1, 2, 3]), ("two", [4, 5])):
        path = tmp_path / tag / "latest" / "data.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64())}), path)
        warehouse.load(LoadRequest(
            table="items", days=None, schema=pq.read_schema(path),
            data=pads.dataset(str(path)), dataset_uri="lake", mode=None, schema_drift="fail",
            local_paths=(str(path),)))
    for tag, ids in (("three", [6]), ("four", [7, 8])):
        path = tmp_path / tag / "data.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64())}), path)
        warehouse.merge(MergeRequest(
            table="changed", key=("id",), full=True, mode=None, schema_drift="fail",
            rows=LakeFile(pads.dataset(str(path)), pq.read_schema(path), str(path.parent),
                          (str(path),))))
    assert sum(duckdb_file.REBUILD_SUFFIX in s for s in statements) >= 2
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        assert con.execute("SELECT id FROM wh.t1.items ORDER BY 1").fetchall() == [(4,), (5,)]
        assert con.execute("SELECT id FROM wh.t1.changed ORDER BY 1").fetchall() == [(7,), (8,)]


def test_a_whole_history_loads_again_under_the_default_memory_limit(tmp_path: Path) -> None:
    """The TPC-H bench's lineitem shape, 6,000,000 rows in 2,527 day files, loaded twice: the
    second load, deleting every row in place, ran out of the default 64MB."""
    rows, days = 6_000_000, 2527
    columns = (
        "g % 200000 AS partkey, g % 10000 AS suppkey, (g % 4)::INT AS linenumber, "
        "(g % 50 + 1)::DECIMAL(15,2) AS quantity, "
        "((g * 7919) % 10000000 / 100)::DECIMAL(15,2) AS price, "
        "(g % 11 / 100)::DECIMAL(15,2) AS discount, (g % 9 / 100)::DECIMAL(15,2) AS tax, "
        "chr(65 + (g % 3)::INT) AS returnflag, chr(70 + (g % 2)::INT) AS linestatus, "
        "DATE '1992-01-01' + (g % 2500)::INT AS shipdate, "
        "DATE '1992-01-01' + (g % 2400)::INT AS commitdate, "
        "'DELIVER IN PERSON' AS shipinstruct, 'TRUCK' AS shipmode, "
        "substr(md5(g::text), 1, 10 + (g % 30)::INT) AS comment")
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT g::BIGINT AS id, {columns}, strftime(DATE '1992-01-01' + "
                    f"(g * {days} // {rows})::INT, '%Y-%m-%d') AS dt FROM range({rows}) r(g)) "
                    f"TO '{tmp_path}/lake' (FORMAT parquet, PARTITION_BY (dt))")
    paths = tuple(sorted(str(p) for p in (tmp_path / "lake").glob("dt=*/*.parquet")))
    loaded = [p.split("dt=")[1].split("/")[0] for p in paths]
    assert len(loaded) == days
    warehouse = DuckDBWarehouse(str(tmp_path / "wh.duckdb"), "t1")
    load(warehouse, paths, loaded)
    load(warehouse, paths, loaded)
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT id), count(DISTINCT dt) "
                           "FROM wh.t1.ev").fetchall() == [(rows, rows, days)]
