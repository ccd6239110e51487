"""The lake's Parquet writer: what it encodes, where it stages, and what readers can see."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from etl import naming
from etl.naming import STAGING_DIR
from etl.utils.parquet import (
    STAGING_PREFIX,
    STALE_STAGING_S,
    dictionary_columns,
    remove_stale_staging,
    write_parquet_atomic,
)
from tests.helpers import storage_resource

TENANT, PIPELINE = "t1", "orders"
DAYS = ("2026-03-01", "2026-03-02")
ROOT = Path(__file__).resolve().parents[2]


def rel(day: str) -> str:
    return naming.data_file_path(TENANT, "extract", PIPELINE, day)


def day_table(day: str, rows: int = 3) -> pa.Table:
    return pa.table({"id": pa.array(range(rows), pa.int64()), "day": [day] * rows})


def glob_count(lake: Path) -> int:
    """How a DuckDB (or polars) reader of the lake counts the pipeline's rows."""
    pattern = f"{lake}/{naming.dataset_path(TENANT, 'extract', PIPELINE)}/dt=*/*.parquet"
    row = duckdb.sql(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchone()
    assert row is not None
    return int(row[0])


def staged(lake: Path) -> list[Path]:
    return sorted((lake / STAGING_DIR).glob(f"{STAGING_PREFIX}*"))


def test_local_writes_stage_outside_table_folders(tmp_path: Path) -> None:
    storage = storage_resource(str(tmp_path / "lake"))
    for day in DAYS:
        storage.write(rel(day), day_table(day).to_reader())
    lake = tmp_path / "lake"
    assert (lake / STAGING_DIR).is_dir()
    assert staged(lake) == []
    partition = lake / rel(DAYS[0])
    assert sorted(p.name for p in partition.parent.iterdir()) == [naming.DATA_FILE]
    assert glob_count(lake) == 6


def test_a_completed_but_unmoved_staging_file_is_not_read(tmp_path: Path) -> None:
    """A run killed between closing the staging file and the move must not add rows."""
    storage = storage_resource(str(tmp_path / "lake"))
    storage.write(rel(DAYS[0]), day_table(DAYS[0]).to_reader())
    lake = tmp_path / "lake"
    orphan = lake / STAGING_DIR / f"{STAGING_PREFIX}killed.parquet"
    pq.write_table(day_table(DAYS[0], rows=1000), orphan)
    assert glob_count(lake) == 3


def test_a_killed_write_leaves_nothing_readers_see(tmp_path: Path) -> None:
    """SIGKILL mid-stream (no cleanup runs): the partial file stays in _staging, unread."""
    lake = tmp_path / "lake"
    storage_resource(str(lake)).write(rel(DAYS[0]), day_table(DAYS[0]).to_reader())
    child = textwrap.dedent(f"""
        import sys, time
        import pyarrow as pa
        from tests.helpers import storage_resource

        def batches():
            yield pa.record_batch({{"id": pa.array([1, 2], pa.int64()), "day": ["x", "x"]}})
            yield pa.record_batch({{"id": pa.array([3], pa.int64()), "day": ["x"]}})
            print("writing", flush=True)  # the first batch is in the staging file by now
            time.sleep(600)

        schema = pa.schema([("id", pa.int64()), ("day", pa.string())])
        storage_resource({str(lake)!r}).write(
            {rel(DAYS[1])!r}, pa.RecordBatchReader.from_batches(schema, batches()))
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert [p.stat().st_size > 0 for p in staged(lake)] == [True]
    assert not (lake / rel(DAYS[1])).exists()
    assert glob_count(lake) == 3


def test_rewrite_replaces_the_partition_atomically(tmp_path: Path) -> None:
    storage = storage_resource(str(tmp_path / "lake"))
    storage.write(rel(DAYS[0]), day_table(DAYS[0], rows=5).to_reader())
    target = tmp_path / "lake" / rel(DAYS[0])
    inode = target.stat().st_ino
    stats = storage.write(rel(DAYS[0]), pa.table({"id": [7], "day": ["new"]}).to_reader())
    assert pq.read_table(target).to_pylist() == [{"id": 7, "day": "new"}]
    assert (stats.rows, stats.row_groups, stats.bytes) == (1, 1, target.stat().st_size)
    assert target.stat().st_ino != inode  # a new file renamed over the old, not rewritten
    assert staged(tmp_path / "lake") == []


def test_a_failed_write_keeps_the_old_file_and_cleans_its_staging(tmp_path: Path) -> None:
    storage = storage_resource(str(tmp_path / "lake"))
    storage.write(rel(DAYS[0]), day_table(DAYS[0]).to_reader())
    schema = day_table(DAYS[0]).schema

    def failing() -> Iterator[pa.RecordBatch]:
        yield day_table("bad", rows=2).to_batches()[0]
        raise RuntimeError("connection lost mid-stream")

    with pytest.raises(RuntimeError, match="connection lost"):
        storage.write(rel(DAYS[0]), pa.RecordBatchReader.from_batches(schema, failing()))
    assert pq.read_table(tmp_path / "lake" / rel(DAYS[0])).column("day").to_pylist() == [
        DAYS[0]] * 3
    assert staged(tmp_path / "lake") == []


def test_stale_staging_files_are_removed_and_fresh_ones_kept(tmp_path: Path) -> None:
    staging = tmp_path / "lake" / STAGING_DIR
    staging.mkdir(parents=True)
    old, fresh, other = (staging / f"{STAGING_PREFIX}old.parquet",
                         staging / f"{STAGING_PREFIX}live.parquet", staging / "keep.txt")
    for path in (old, fresh, other):
        path.write_bytes(b"PAR1")
    long_ago = time.time() - STALE_STAGING_S - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    # The next write of any table sweeps the folder: only the abandoned file goes.
    storage_resource(str(tmp_path / "lake")).write(rel(DAYS[0]), day_table("x").to_reader())
    assert sorted(p.name for p in staging.iterdir()) == sorted([fresh.name, other.name])
    assert remove_stale_staging(pafs.LocalFileSystem(), str(tmp_path / "nowhere")) == []


def test_dictionary_encoding_only_on_string_and_binary_columns(tmp_path: Path) -> None:
    rows = 1000
    table = pa.table({
        "id": pa.array([i % 3 for i in range(rows)], pa.int64()),
        "qty": pa.array([i % 3 for i in range(rows)], pa.int32()),
        "ratio": pa.array([0.5] * rows, pa.float64()),
        "amount": pa.array([Decimal("1.2500")] * rows, pa.decimal128(18, 4)),
        "flag": pa.array([True] * rows),
        "day": pa.array([dt.date(2026, 3, 1)] * rows),
        "ts": pa.array([dt.datetime(2026, 3, 1, 1)] * rows, pa.timestamp("ns", tz="UTC")),
        "label": pa.array(["a", "b"] * (rows // 2)),
        "big_label": pa.array(["a", "b"] * (rows // 2), pa.large_string()),
        "blob": pa.array([b"x", b"y"] * (rows // 2)),
        "big_blob": pa.array([b"x", b"y"] * (rows // 2), pa.large_binary()),
        "category": pa.array(["p", "q"] * (rows // 2)).dictionary_encode(),
    })
    path = f"{tmp_path}/x.parquet"
    write_parquet_atomic(pafs.LocalFileSystem(), path, table.to_reader(), staging_dir=str(tmp_path))
    text = {"label", "big_label", "blob", "big_blob", "category"}
    assert set(dictionary_columns(pq.read_schema(path))) == text
    group = pq.read_metadata(path).row_group(0)
    encoded = {}
    for i in range(group.num_columns):
        column = group.column(i)
        encoded[column.path_in_schema] = (
            column.has_dictionary_page,
            bool({"PLAIN_DICTIONARY", "RLE_DICTIONARY"} & set(column.encodings)),
        )
    assert encoded == {name: (name in text, name in text) for name in table.column_names}
    out = pq.read_table(path)
    assert out.column("category").to_pylist()[:2] == ["p", "q"]  # decoded, values intact
    assert out.schema.field("ts").type == pa.timestamp("us", tz="UTC")
