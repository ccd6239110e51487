"""No link below a lake's root leads a tenant's writes or reads into another tenant's files.

Tenant code runs in the tenant's own processes and can make links in its own folder; the
framework follows none of them: the stage that meets one fails, naming it, and the other
tenant's files stay as they were.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from etl.utils.parquet import write_parquet_beneath
from etl.utils.safe_paths import LinkError
from etl.warehouse.base import WarehouseError
from tests.helpers import copy_tenants, duckdb_warehouse, seed_tenant

TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()
DAY = (TODAY - dt.timedelta(days=2)).isoformat()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tenants alpha and beta (the sample ``default``), one lake root, one warehouse file."""
    tenants = copy_tenants(tmp_path, ("default",))
    for name in ("alpha", "beta"):
        (tenants / name).mkdir()
        config = (tenants / "default" / "config.yaml").read_text()
        (tenants / name / "config.yaml").write_text(
            config.replace("id: default", f"id: {name}")
            .replace("sources/default.db", f"sources/{name}.db"))
        seed_tenant(tmp_path, name, (dt.date.fromisoformat(DAY),))
    shutil.rmtree(tenants / "default")
    monkeypatch.setenv("ETL_TENANTS_DIR", str(tenants))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def etl(site: Path, *argv: str) -> tuple[int, str]:
    """The command as a user runs it: its own process (one per tenant, as in real use)."""
    done = subprocess.run([sys.executable, "-m", "etl.cli", *argv], capture_output=True,
                          text=True, cwd=site, env=dict(os.environ), timeout=300, check=False)
    return done.returncode, done.stderr + done.stdout


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_link_in_a_tenants_lake_folder_fails_its_run_and_leaves_the_other_tenant_alone(
        site: Path) -> None:
    lake = site / ".etl" / "lake"
    code, out = etl(site, "run", "alpha", "daily_etl_job", "--day", DAY)
    assert code == 0, out
    alpha = digests(lake / "alpha")
    assert f"extract/work_order/dt={DAY}/data.parquet" in alpha
    (lake / "beta").mkdir()
    (lake / "beta" / "extract").symlink_to(lake / "alpha" / "extract")
    code, out = etl(site, "run", "beta", "daily_etl_job", "--day", DAY)
    assert code == 1, out
    assert (f"{lake}/beta/extract is a symbolic link (to {lake}/alpha/extract); nothing below "
            "the lake root may be one: remove the link") in out
    assert digests(lake / "alpha") == alpha
    assert not list((lake / "_staging").iterdir())  # nothing left half-written either
    rows = duckdb_warehouse(site / ".etl" / "warehouse.duckdb", "alpha").count_days(
        "work_order", [DAY], None)
    assert rows[DAY] > 0


def test_a_read_through_a_link_is_refused(site: Path) -> None:
    """beta's load would read alpha's day as its own: the file path goes through a link."""
    lake = site / ".etl" / "lake"
    assert etl(site, "run", "alpha", "daily_etl_job", "--day", DAY)[0] == 0
    (lake / "beta" / "transfer").mkdir(parents=True)
    (lake / "beta" / "transfer" / "work_order").symlink_to(lake / "alpha" / "transfer" /
                                                           "work_order")
    code, out = etl(site, "run", "beta", "load_job", "--day", DAY)
    assert code == 1, out
    assert f"{lake}/beta/transfer/work_order is a symbolic link (to {lake}/alpha/" in out
    rows = duckdb_warehouse(site / ".etl" / "warehouse.duckdb", "beta").count_days(
        "work_order", [DAY], None)
    assert rows[DAY] == 0


def batches() -> pa.RecordBatchReader:
    table = pa.table({"id": [1, 2, 3]})
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


@pytest.mark.parametrize(("link", "target"), [
    ("t/extract", "other/extract"),              # a folder on the way
    ("_staging", "other/extract/p/dt=2026-01-01"),  # the staging folder
    ("t/extract/p/dt=2026-01-01/data.parquet", "other/extract/p/dt=2026-01-01/data.parquet"),
])
def test_the_writer_follows_no_link_below_the_root(tmp_path: Path, link: str, target: str
                                                   ) -> None:
    root = tmp_path / "lake"
    victim = root / "other" / "extract" / "p" / "dt=2026-01-01" / "data.parquet"
    victim.parent.mkdir(parents=True)
    victim.write_bytes(b"PAR1 the other tenant's file")
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    (root / link).symlink_to(root / target)
    with pytest.raises(LinkError, match=f"^{root}/{link} is a symbolic link"):
        write_parquet_beneath(str(root), "t/extract/p/dt=2026-01-01/data.parquet", batches())
    assert victim.read_bytes() == b"PAR1 the other tenant's file"
    assert [p.name for p in victim.parent.iterdir()] == ["data.parquet"]


def test_the_writer_creates_folders_and_replaces_atomically(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    linked_root = tmp_path / "root_link"  # the root itself may be a link: the operator's
    linked_root.symlink_to(root)
    for _ in range(2):
        stats = write_parquet_beneath(str(linked_root), "t/extract/p/latest/data.parquet",
                                      batches())
        assert stats.rows == 3
    assert (root / "t/extract/p/latest/data.parquet").is_file()
    assert list((root / "_staging").iterdir()) == []


def test_a_duckdb_file_replaced_by_a_link_fails_the_load(tmp_path: Path) -> None:
    lake_file = tmp_path / "lake" / "alpha" / "extract" / "data.parquet"
    lake_file.parent.mkdir(parents=True)
    warehouse = duckdb_warehouse(tmp_path / "wh.duckdb", "beta")
    (tmp_path / "wh.duckdb").symlink_to(lake_file)
    with pytest.raises(WarehouseError, match="is a symbolic link"):
        warehouse.connect()
    assert not lake_file.exists()


@pytest.mark.parametrize("beside", ["wh.duckdb.wal", "wh.duckdb.tmp"])
def test_a_link_beside_the_duckdb_file_fails_the_load_and_leaves_its_target_alone(
        tmp_path: Path, beside: str) -> None:
    """DuckDB writes its log (``.wal``) and its spills (``.tmp``) next to the file, through any
    link found there: an insert through a linked log overwrote another tenant's Parquet."""
    victim = tmp_path / "lake" / "alpha" / "extract" / "data.parquet"
    victim.parent.mkdir(parents=True)
    victim.write_bytes(b"PAR1 alpha's rows PAR1")
    warehouse = duckdb_warehouse(tmp_path / "wh.duckdb", "beta")
    warehouse.connect().close()  # the file exists, as after a first load
    (tmp_path / beside).symlink_to(victim)
    with pytest.raises(WarehouseError) as info:
        warehouse.connect()
    assert str(info.value) == (
        f"{tmp_path.resolve() / beside}, where DuckDB writes beside the warehouse file "
        f"{tmp_path / 'wh.duckdb'}, is a symbolic link (to {victim.resolve()}); DuckDB would "
        "write through it: remove the link")
    assert victim.read_bytes() == b"PAR1 alpha's rows PAR1"
