"""Incremental master data (``mode: incremental``) against PostgreSQL, run as a user runs it
(``etl run TENANT master_sync_job``), into DuckDB and into Trino Iceberg.

Twenty runs of random inserts, updates (many rows sharing one cursor value, a row committed
late with an older cursor inside the lag, a row committed after a run with the mark's own
value) and deletes end with each table equal to a full copy of the source; a run blocked by a
failing check does not move the high-water mark, so its rerun loses nothing and duplicates
nothing; soft deletes keep the row with ``deleted_at``.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from etl import naming
from tests.integration.reconcile_support import Site, site
from tests.integration.source_support import execute
from tools.services.base import Service
from tools.services.s3 import S3Bucket
from tools.services.trino import query

START = dt.datetime(2026, 1, 1)
DUCKDB_PIPELINES = """\
    - name: items_hard
      table: items
      primary_key: [id]
      save_to_trino: true
      mode: incremental
      cursor_column: updated_at
      lag: 1m
      deletes: {mode: hard}
      checks:
        rules: [{type: expression, name: qty_not_negative, sql: qty >= 0, blocking: true}]
    - {name: items_soft, table: items, primary_key: [id], save_to_trino: true,
       mode: incremental, cursor_column: updated_at, lag: 1m,
       deletes: {mode: soft, every_runs: 2}}
"""
ICEBERG_PIPELINES = """\
    - {name: items_ice, table: items, primary_key: [id], save_to_trino: true,
       load_mode: iceberg, mode: incremental, cursor_column: updated_at, lag: 1m,
       deletes: {mode: hard}}
"""


class Source:
    """The ``items`` table and every change made to it, on a simulated clock."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.rng = random.Random(20)
        self.clock = START
        self.next_id = 1
        self.deleted: set[int] = set()
        execute(url, "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, "
                     "updated_at timestamp(6) NOT NULL)")
        self.insert(50)

    def stamp(self, at: dt.datetime | None = None) -> str:
        return f"'{(at or self.clock).isoformat(sep=' ')}'"

    def ids(self) -> list[int]:
        return [int(r[0]) for r in rows(self.url, "SELECT id FROM items ORDER BY id")]

    def insert(self, n: int, qty: int | None = None, at: dt.datetime | None = None) -> None:
        values = []
        for _ in range(n):
            values.append(f"({self.next_id}, 'item {self.next_id}', "
                          f"{qty if qty is not None else self.rng.randint(0, 99)}, "
                          f"{self.stamp(at)})")
            self.next_id += 1
        if values:
            execute(self.url, f"INSERT INTO items VALUES {', '.join(values)}")

    def step(self) -> None:
        """One period's changes, all at the period's clock (they share one cursor value)."""
        self.clock += dt.timedelta(minutes=10)
        ids = self.ids()
        updated = self.rng.sample(ids, min(len(ids), self.rng.randint(1, 6)))
        gone = self.rng.sample([i for i in ids if i not in updated], self.rng.randint(0, 2))
        execute(self.url,
                *(f"UPDATE items SET qty = qty + 1, name = 'v{self.clock:%H%M}', "
                  f"updated_at = {self.stamp()} WHERE id = {i}" for i in updated),
                *(f"DELETE FROM items WHERE id = {i}" for i in gone))
        self.deleted.update(gone)
        self.insert(self.rng.randint(0, 4))

    def late(self, seconds: int) -> None:
        """A row committed after the last run, its cursor ``seconds`` before that run's mark."""
        self.insert(1, at=self.clock - dt.timedelta(seconds=seconds))

    def copy(self) -> list[tuple[Any, ...]]:
        return rows(self.url, "SELECT id, name, qty, updated_at FROM items ORDER BY id")


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    finally:
        engine.dispose()


def warehouse(home: Site, table: str, deleted: bool = False) -> list[tuple[Any, ...]]:
    extra = ", deleted_at IS NOT NULL" if deleted else ""
    with duckdb.connect(str(home.root / "wh.duckdb"), read_only=True) as con:
        return [tuple(r) for r in con.execute(
            f"SELECT id, name, qty, updated_at{extra} FROM wh.inc.{table} ORDER BY id").fetchall()]


def key_reads(table: str) -> list[bool]:
    """Per run of ``table``'s extract, oldest first: whether it read the source's keys."""
    with dg.DagsterInstance.get() as instance:
        records = instance.fetch_materializations(
            naming.asset_key("inc", "extract", table), limit=100).records
    return [r.asset_materialization.metadata["source_keys"].value is not None
            for r in reversed(records) if r.asset_materialization is not None]


@pytest.mark.postgres
def test_twenty_runs_of_changes_end_equal_to_the_source_in_duckdb(
        postgres_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    source = Source(postgres_db)
    home = site(tmp_path, postgres_db, "inc", monkeypatch)
    home.write(f"{{root: {tmp_path}/lake}}", f"{{type: duckdb, path: {tmp_path}/wh.duckdb}}",
               DUCKDB_PIPELINES)
    assert home.etl(capsys, "run", "inc", "master_sync_job")[0] == 0  # the first: a full read
    for run in range(1, 21):
        source.step()
        if run == 5:
            source.late(30)  # older than the last mark, inside the 1m lag
        if run == 9:
            source.insert(1, at=source.clock)  # the mark's own value, after the run
        if run == 12:  # blocked by its check: the mark must not move past this run's rows
            source.insert(1, qty=-1, at=source.clock + dt.timedelta(minutes=5))
            code, out = home.etl(capsys, "run", "inc", "master_sync_job")
            assert code == 1 and "qty_not_negative" in out, out
            execute(postgres_db, "UPDATE items SET qty = 1 WHERE qty < 0")
            continue
        code, out = home.etl(capsys, "run", "inc", "master_sync_job")
        assert code == 0, out
    copy = source.copy()
    assert warehouse(home, "items_hard") == copy
    soft = warehouse(home, "items_soft", deleted=True)
    assert [r[:4] for r in soft if not r[4]] == copy
    assert {r[0] for r in soft if r[4]} == source.deleted  # kept, with deleted_at
    assert len({r[0] for r in soft}) == len(soft)
    assert key_reads("items_soft")[1:] == [False, True] * 10  # every second run


@pytest.mark.trino
def test_twenty_runs_of_changes_end_equal_to_the_source_in_iceberg(
        postgres_db: str, tmp_path: Path, trino_server: Service, s3_bucket: S3Bucket,
        schema: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    source = Source(postgres_db)
    home = site(tmp_path, postgres_db, "inc", monkeypatch)
    home.write(home.s3_storage(s3_bucket, monkeypatch),
               f"{{type: trino, host: {trino_server.host}, port: {trino_server.port}, "
               f"schema_name: {schema}}}", ICEBERG_PIPELINES)
    for run in range(21):
        if run:
            source.step()
        if run == 5:
            source.late(30)
        code, out = home.etl(capsys, "run", "inc", "master_sync_job")
        assert code == 0, out
    found = [tuple(r) for r in query(trino_server, f"SELECT id, name, qty, updated_at FROM "
                                                   f"iceberg.{schema}.items_ice ORDER BY id")]
    assert found == source.copy()
