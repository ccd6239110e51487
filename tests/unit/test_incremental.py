"""Incremental master data on the embedded defaults (SQLite, a local lake, DuckDB), through
``etl run``: an integer cursor, a key read that finds deletes, a full refresh, and the
high-water mark read back from the last stage's materialization."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from etl import naming
from etl.cli.main import main

CONFIG = """\
tenant: {{id: shop, name: Shop}}
source: {{url: 'sqlite:///{root}/shop.db'}}
storage: {{root: {root}/lake}}
warehouse: {{type: duckdb, path: {root}/wh.duckdb}}
schedule: {{start_date: 2026-01-01}}
assets:
  inherit: none
  pipelines:
    - {{name: items, table: items, primary_key: [id], save_to_trino: true, mode: incremental,
       cursor_column: version, deletes: {{mode: hard}}}}
"""


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sqlite3.Connection:
    (tmp_path / "tenants" / "shop").mkdir(parents=True)
    (tmp_path / "tenants" / "shop" / "config.yaml").write_text(CONFIG.format(root=tmp_path))
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("ETL_TENANTS_DIR", str(tmp_path / "tenants"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    db = sqlite3.connect(tmp_path / "shop.db", isolation_level=None)
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, version INTEGER NOT NULL)")
    db.executemany("INSERT INTO items VALUES (?, ?, ?)", [(i, f"n{i}", i) for i in range(1, 11)])
    return db


def table(tmp_path: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        return con.execute("SELECT id, name, version FROM wh.shop.items ORDER BY id").fetchall()


def required(tmp_path: Path) -> set[str]:
    """The warehouse table's NOT NULL columns."""
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT column_name FROM information_schema.columns WHERE "
                           "table_name = 'items' AND is_nullable = 'NO'").fetchall()
    return {str(name) for (name,) in rows}


def last(key: dg.AssetKey) -> dict[str, object]:
    with dg.DagsterInstance.get() as instance:
        record = instance.fetch_materializations(key, limit=1).records[0]
    assert record.asset_materialization is not None
    return {k: getattr(v, "value", v) for k, v in record.asset_materialization.metadata.items()}


def test_changes_deletes_and_a_full_refresh(shop: sqlite3.Connection, tmp_path: Path) -> None:
    extract, load = (naming.asset_key("shop", stage, "items") for stage in ("extract", "load"))
    assert main(["run", "shop", "master_sync_job"]) == 0
    assert last(extract)["read"] == "full" and last(load)[naming.HIGH_WATER_MARK] == "10"
    assert "version" in required(tmp_path) and "name" not in required(tmp_path)
    shop.execute("UPDATE items SET name = 'changed', version = 11 WHERE id = 3")
    shop.execute("INSERT INTO items VALUES (11, 'new', 11)")
    shop.execute("DELETE FROM items WHERE id = 7")
    assert main(["run", "shop", "master_sync_job"]) == 0
    assert last(extract)["read"] == "version >= 10 - lag"
    assert last(extract)[naming.HIGH_WATER_MARK] == "11" and last(load)["deleted_rows"] == 1
    assert table(tmp_path) == shop.execute("SELECT * FROM items ORDER BY id").fetchall()
    assert "version" in required(tmp_path)
    assert main(["run", "shop", "master_sync_job", "--full-refresh"]) == 0
    assert last(extract)["read"] == "full"
    assert table(tmp_path) == shop.execute("SELECT * FROM items ORDER BY id").fetchall()
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs(filters=dg.RunsFilter(
            tags={naming.REASON_TAG: "full_refresh"}))
    assert run.tags[naming.FULL_REFRESH_TAG] == "true"
