"""An incremental merge's deletes on DuckDB: which rows the source's key read says are gone.

A key of one integer column is compared as 64-key bitmaps, any other key as it is; both must
find exactly the keys the source no longer has (hard deletes remove them, soft ones mark them),
whatever the keys' signs and wherever they fall in a bucket, and a table of millions of keys
must merge under the default memory limit.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from etl.warehouse.base import LakeFile, MergeRequest
from etl.warehouse.duckdb import DuckDBWarehouseConfig
from tests.duckdb_statements import record_statements

BIG = 2**63 - 1
# Bucket edges, both signs, the extremes of BIGINT: every key a bitmap could get wrong.
EDGES = [-(2**63), -(2**63) + 1, -129, -128, -65, -64, -63, -2, -1, 0, 1, 62, 63, 64, 65, 127,
         128, 4_096, BIG - 64, BIG - 1, BIG]


def lake(tmp_path: Path, name: str, table: pa.Table) -> LakeFile:
    file = tmp_path / name / "data.parquet"
    file.parent.mkdir()
    pq.write_table(table, file)
    return LakeFile(pads.dataset(str(file)), pq.read_schema(file), str(file.parent), (str(file),))


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the merges run, to tell which comparison they took."""
    return record_statements(monkeypatch)


def merge(tmp_path: Path, tag: str, key: tuple[str, ...], rows: pa.Table, keys: pa.Table | None,
          deletes: str = "hard", full: bool = False) -> int:
    warehouse = DuckDBWarehouseConfig(type="duckdb", path=str(tmp_path / "wh.duckdb")
                                      ).build_resource("t1").warehouse()
    result = warehouse.merge(MergeRequest(
        table="items", key=key, full=full, mode=None, schema_drift="fail",
        rows=lake(tmp_path, f"rows_{tag}", rows), deletes=deletes,  # type: ignore[arg-type]
        keys=lake(tmp_path, f"keys_{tag}", keys) if keys is not None else None))
    return result.deleted


def stored(tmp_path: Path, columns: str = "id") -> list[tuple[object, ...]]:
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        return con.execute(f"SELECT {columns} FROM wh.t1.items ORDER BY ALL").fetchall()


@pytest.mark.parametrize("arrow_type", [pa.int64(), pa.int32(), pa.int16(), pa.int8()])
def test_integer_keys_gone_from_the_source_are_found_exactly(
        tmp_path: Path, statements: list[str], arrow_type: pa.DataType) -> None:
    low, high = -(2 ** (arrow_type.bit_width - 1)), 2 ** (arrow_type.bit_width - 1) - 1
    keys = sorted({k for k in EDGES if low <= k <= high} | set(range(-50, 120)))
    merge(tmp_path, "first", ("id",), pa.table({"id": pa.array(keys, arrow_type),
                                                "v": pa.array([1] * len(keys), pa.int64())}),
          None, full=True)
    gone = set(keys[::3])  # every third key, edges included
    kept = [k for k in keys if k not in gone]
    deleted = merge(tmp_path, "next", ("id",),
                    pa.table({"id": pa.array([kept[0]], arrow_type), "v": pa.array([2])}),
                    pa.table({"id": pa.array(kept, arrow_type)}))
    assert deleted == len(gone)
    assert stored(tmp_path) == [(k,) for k in kept]
    assert any("source_bits" in s for s in statements)  # compared as bitmaps


def test_soft_deletes_mark_only_the_rows_gone_and_keep_their_mark(
        tmp_path: Path, statements: list[str]) -> None:
    keys = list(range(-70, 70))
    merge(tmp_path, "first", ("id",), pa.table({"id": keys, "v": [1] * len(keys)}), None,
          deletes="soft", full=True)
    at_source = [k for k in keys if k % 7 or k == 0]  # 0 changed, the other sevens gone
    marked = merge(tmp_path, "second", ("id",), pa.table({"id": [0], "v": [2]}),
                   pa.table({"id": at_source}), deletes="soft")
    again = merge(tmp_path, "third", ("id",), pa.table({"id": [1], "v": [3]}),
                  pa.table({"id": at_source}), deletes="soft")
    assert (marked, again) == (len(keys) - len(at_source), 0)  # marked once, not again
    rows = stored(tmp_path, "id, deleted_at IS NOT NULL")
    assert rows == [(k, k not in at_source) for k in keys]
    assert any("source_bits" in s for s in statements)


@pytest.mark.parametrize("key", [("code",), ("site", "line")])
def test_other_keys_are_compared_as_they_are(tmp_path: Path, statements: list[str],
                                             key: tuple[str, ...]) -> None:
    codes = [f"c{i:03d}" for i in range(100)]
    table = pa.table({"code": codes, "site": [i % 3 for i in range(100)],
                      "line": list(range(100)), "v": [1] * 100})
    merge(tmp_path, "first", key, table, None, full=True)
    kept = table.filter(pa.array([i % 4 != 0 for i in range(100)]))
    deleted = merge(tmp_path, "next", key, kept.slice(0, 1), kept.select(list(key)))
    assert deleted == 25
    assert stored(tmp_path, "code") == [(c,) for c in kept.column("code").to_pylist()]
    assert not any("source_bits" in s for s in statements)


def test_millions_of_keys_merge_under_the_default_memory_limit(tmp_path: Path) -> None:
    """8,000,000 keys: a hash table of them all ran out of the merge's default 128MB."""
    rows = 8_000_000
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute("CREATE SCHEMA t1")
        con.execute(f"CREATE TABLE t1.items AS SELECT g::BIGINT AS id, g % 10 AS v "
                    f"FROM range({rows}) r(g)")
        (tmp_path / "keys_next").mkdir()
        con.execute(f"COPY (SELECT g::BIGINT AS id FROM range({rows}) r(g) WHERE g % 1000 <> 7) "
                    f"TO '{tmp_path}/keys_next/data.parquet'")
    file = tmp_path / "keys_next" / "data.parquet"
    warehouse = DuckDBWarehouseConfig(type="duckdb", path=str(tmp_path / "wh.duckdb")
                                      ).build_resource("t1").warehouse()
    result = warehouse.merge(MergeRequest(
        table="items", key=("id",), full=False, mode=None, schema_drift="fail",
        rows=lake(tmp_path, "rows_next", pa.table({"id": pa.array([1], pa.int64()),
                                                   "v": pa.array([5], pa.int64())})),
        deletes="hard",
        keys=LakeFile(pads.dataset(str(file)), pq.read_schema(file), str(file.parent),
                      (str(file),))))
    assert result.deleted == rows // 1000
    assert result.rows == rows - rows // 1000
