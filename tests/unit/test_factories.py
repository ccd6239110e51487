"""The generated definitions: keys, deps, partitions, jobs, schedules and code locations."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from etl import build_all_definitions, build_tenant_definitions
from etl.config.config_loader import DEFAULT_TENANTS_DIR
from etl.config.discovery import discover_tenants
from etl.naming import PACKAGE_DIR, RECONCILE_CHECK, reserved_tenant_ids
from tests.helpers import copy_tenants

K = dg.AssetKey


def repo(tenant: str) -> dg.RepositoryDefinition:
    return build_tenant_definitions(tenant).get_repository_def()


def user_jobs(r: dg.RepositoryDefinition) -> list[str]:
    return sorted(j.name for j in r.get_all_jobs() if not j.name.startswith("__"))


@pytest.mark.parametrize(
    ("tenant", "assets", "jobs", "schedules"),
    [("project_01", 11, 6, 2), ("default", 9, 5, 2)],
)
def test_seed_verification_counts(tenant: str, assets: int, jobs: int, schedules: int) -> None:
    r = repo(tenant)
    assert len(r.asset_graph.get_all_asset_keys()) == assets
    assert len(user_jobs(r)) == jobs
    assert len(r.schedule_defs) == schedules


def test_project_01_keys_deps_and_partitions() -> None:
    r = repo("project_01")
    graph = r.asset_graph
    assert graph.get(K(["project_01", "transfer", "work_order"])).parent_keys == {
        K(["project_01", "extract", "work_order"])}
    assert graph.get(K(["project_01", "load", "work_order"])).parent_keys == {
        K(["project_01", "transfer", "work_order"])}
    master_load = graph.get(K(["project_01", "load", "cfg_item_master"]))
    assert master_load.parent_keys == {K(["project_01", "extract", "cfg_item_master"])}
    assert master_load.partitions_def is None
    assert not graph.has(K(["project_01", "transfer", "cfg_item_master"]))
    daily = graph.get(K(["project_01", "extract", "work_order"])).partitions_def
    assert isinstance(daily, dg.DailyPartitionsDefinition)
    assert daily.timezone == "Asia/Seoul"
    assert graph.get(K(["project_01", "extract", "work_order"])).group_name == "project_01_extract"


def test_job_selections() -> None:
    r = repo("project_01")

    def keys(job: str) -> set[tuple[str, ...]]:
        return {tuple(k.path) for k in r.get_job(job).asset_layer.selected_asset_keys}

    daily = {(t, s, p) for t in ["project_01"] for s in ("extract", "transfer", "load")
             for p in ("work_order", "production_result", "quality_inspection")}
    assert keys("daily_etl_job") == daily
    assert keys("extract_job") == {k for k in daily if k[1] == "extract"}
    assert keys("transfer_job") == {k for k in daily if k[1] == "transfer"}
    assert keys("load_job") == {k for k in daily if k[1] == "load"}
    assert keys("master_sync_job") == {("project_01", "extract", "cfg_item_master"),
                                       ("project_01", "load", "cfg_item_master")}
    assert r.get_job("daily_etl_job").partitions_def is not None
    assert r.get_job("master_sync_job").partitions_def is None


def test_load_assets_have_a_blocking_reconciliation_check() -> None:
    r = repo("default")
    graph = r.asset_graph
    loads = [k for k in graph.get_all_asset_keys() if k.path[1] == "load"]
    reconciled = {k for k in graph.asset_check_keys if k.name == RECONCILE_CHECK}
    assert {dg.AssetCheckKey(k, RECONCILE_CHECK) for k in loads} == reconciled
    assert loads and all(graph.get_check_spec(dg.AssetCheckKey(k, RECONCILE_CHECK)).blocking
                         for k in loads)


def test_custom_transfer_is_wired_from_config() -> None:
    """project_01's production_result runs the tenant's function; the others the common one."""
    import duckdb
    import pyarrow as pa

    from etl.common.transfer import TransferContext, standardize
    from etl.config.config_loader import load_tenant_config
    from etl.factories.transfers import resolve_transfers
    from etl.tenants.project_01.assets.transfer import production_yield

    loaded = load_tenant_config("project_01")
    transfers = resolve_transfers(loaded)
    assert transfers["production_result"] is production_yield
    assert transfers["work_order"] is standardize
    pipeline = next(p for p in loaded.config.assets.pipelines if p.name == "production_result")
    with duckdb.connect() as con:
        source = con.from_arrow(pa.table({"id": [1, 1], "produced_qty": [10, 10],
                                          "defect_qty": [2, 2], "produced_at": [1, 1]}))
        out = transfers["production_result"](source, TransferContext("project_01", pipeline,
                                                                      None, con))
        assert isinstance(out, duckdb.DuckDBPyRelation)
        assert out.fetchall() == [(1, 10, 2, 1, 8, 0.2)]  # one row per key, plus the site's


def test_all_merges_every_tenant_without_clashes() -> None:
    r = build_all_definitions().get_repository_def()
    assert len(r.asset_graph.get_all_asset_keys()) == 20
    assert "project_01__daily_etl_job" in user_jobs(r)
    assert "default__daily_etl_job" in user_jobs(r)
    assert len(user_jobs(r)) == 11
    assert len(r.schedule_defs) == 4


def test_each_tenant_folder_has_its_code_location_and_workspace_entry() -> None:
    tenants = discover_tenants()
    modules = {p.stem for p in PACKAGE_DIR.glob("*.py")} - {"__init__"} - reserved_tenant_ids()
    assert set(tenants) == modules
    workspace = yaml.safe_load((PACKAGE_DIR.parent / "workspace.yaml").read_text())
    listed = {e["python_module"]["module_name"] for e in workspace["load_from"]}
    assert listed == {f"etl.{t}" for t in tenants}
    assert (DEFAULT_TENANTS_DIR / "_template" / "config.yaml").is_file()


def test_code_location_modules_build_lazily() -> None:
    """Importing a location module builds nothing and reads no config; Dagster calls defs()."""
    probe = (
        "import sys, etl.project_01, etl.all\n"
        "import dagster as dg\n"
        "assert not isinstance(etl.project_01.defs, dg.Definitions)\n"
        "assert 'etl.factories.definitions_factory' not in sys.modules\n"
        "assert 'etl.config.config_loader' not in sys.modules\n"
        "assert isinstance(etl.project_01.defs(), dg.Definitions)\n"
        "assert 'etl.factories.definitions_factory' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=PACKAGE_DIR.parent,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_definitions_load_without_env_or_network(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets are EnvVars read at run time; an unreachable DB must not slow the load."""
    tenants = copy_tenants(tmp_path, ("project_01",))
    config = tenants / "project_01" / "config.yaml"
    text = config.read_text().replace(
        f"url: sqlite:///{tmp_path}/.etl/sources/project_01.db",
        "url: postgresql+psycopg://etl@10.255.255.1:5432/mes\n"
        "  password_env: PROJECT_01_DB_PASSWORD",
    )
    config.write_text(text)
    monkeypatch.delenv("PROJECT_01_DB_PASSWORD", raising=False)
    started = time.monotonic()
    r = build_tenant_definitions("project_01", tenants_dir=tenants).get_repository_def()
    assert len(r.asset_graph.get_all_asset_keys()) == 11
    assert time.monotonic() - started < 10
    from etl.config.config_loader import load_tenant_config
    from etl.factories.resource_factory import build_resources

    config = load_tenant_config("project_01", tenants).config
    source = build_resources(config)["project_01__source"]
    assert source.password == dg.EnvVar("PROJECT_01_DB_PASSWORD")
