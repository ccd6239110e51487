"""``etl validate`` tells the whole truth: one line per tenant, every problem of every tenant."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.cli.main import main
from etl.config.config_loader import DEFAULT_TENANTS_DIR
from etl.naming import PACKAGE_DIR
from etl.scaffold import LOCATION_MODULE
from etl.validate.tenants import validate_tenants
from tests.helpers import copy_tenants


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The sample tenants, a broken one, and the layout mistakes, with their own package."""
    monkeypatch.chdir(tmp_path)
    tenants = copy_tenants(tmp_path)
    package = tmp_path / "pkg"
    package.mkdir()
    for tenant in ("default", "project_01", "broken", "scaffold", "gone"):
        (package / f"{tenant}.py").write_text(LOCATION_MODULE.format(tenant=tenant))
    shutil.copytree(tenants / "default", tenants / "broken")
    config = tenants / "broken" / "config.yaml"
    config.write_text(config.read_text().replace("id: default", "id: broken")
                      .replace('cron: "0 2 * * *"', "cron: every day")
                      .replace("start_date: 2026-01-01", "start_date: 2026-13-45"))
    shutil.copytree(tenants / "default", tenants / "no_module")
    config = tenants / "no_module" / "config.yaml"
    config.write_text(config.read_text().replace("id: default", "id: no_module"))
    (tenants / "no_config" / "assets").mkdir(parents=True)
    shutil.copytree(tenants / "default", tenants / "scaffold")
    config = tenants / "scaffold" / "config.yaml"
    config.write_text(config.read_text().replace("id: default", "id: scaffold"))
    return tenants, package


def lines(tenants: Path, package: Path, only: str | None = None) -> dict[str, list[str]]:
    return {r.tenant: r.render() for r in validate_tenants(tenants, only, package_dir=package)}


def test_one_line_per_tenant_with_every_problem(site: tuple[Path, Path]) -> None:
    tenants, package = site
    report = lines(tenants, package)
    assert sorted(report) == ["broken", "default", "gone", "no_config", "no_module",
                              "project_01", "scaffold"]
    assert report["default"][0] == "default: ok (9 assets, 5 jobs, 2 schedules)"
    assert report["project_01"] == [
        "project_01: ok (11 assets, 6 jobs, 2 schedules)",
        "  work_order (daily by created_at): extract, transfer, load",
        "  production_result (daily by produced_at): extract, transfer, load",
        "  quality_inspection (daily by inspected_at): extract, transfer, load",
        "  cfg_item_master (master data): extract, load"]
    broken = "\n".join(report["broken"])
    assert report["broken"][0] == "broken: 2 errors"
    assert "config.yaml:18: schedule.cron: not a valid cron expression" in broken
    assert "config.yaml:20: schedule.start_date: is not a day (month must be in 1..12)" in broken
    (no_config,) = report["no_config"][1:]
    assert "no_config: the folder has no config.yaml; copy etl/tenants/_template" in no_config
    (no_module,) = report["no_module"][1:]
    assert "no code-location module pkg/no_module.py, so `dagster dev -m etl.no_module`" in (
        no_module)
    (gone,) = report["gone"][1:]
    assert "pkg/gone.py is the code location of tenant 'gone', but " in gone
    assert "tenants/gone/config.yaml does not exist" in gone
    scaffold = "\n".join(report["scaffold"])
    assert "tenant id 'scaffold' is not allowed" in scaffold


def test_one_tenant_only(site: tuple[Path, Path]) -> None:
    tenants, package = site
    (only,) = lines(tenants, package, "project_01").values()
    assert only[0] == "project_01: ok (11 assets, 6 jobs, 2 schedules)" and len(only) == 5
    (unknown,) = lines(tenants, package, "nope")["nope"][1:]
    assert "no tenant 'nope': tenants/nope/config.yaml does not exist (tenants: broken" in unknown


def test_a_tenant_taking_anothers_schema_is_the_one_reported(site: tuple[Path, Path]) -> None:
    tenants, package = site
    config = tenants / "no_module" / "config.yaml"
    config.write_text(config.read_text().replace("  type: duckdb\n",
                                                 "  type: duckdb\n  schema_name: project_01\n"))
    for only in (None, "no_module"):
        report = lines(tenants, package, only)
        assert "where tenant 'project_01' already keeps its tables" in "\n".join(
            report["no_module"])
    assert lines(tenants, package)["project_01"][0].startswith("project_01: ok")


def test_short_secrets_are_warned_about_without_their_value(
    site: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tenants, package = site
    config = tenants / "project_01" / "config.yaml"
    config.write_text(config.read_text().replace(
        "  url: sqlite", "  password_env: PROJECT_01_DB_PASSWORD\n  url: sqlite"))
    monkeypatch.setenv("PROJECT_01_DB_PASSWORD", "abc123")
    report = lines(tenants, package, "project_01")["project_01"]
    assert report[:2] == [
        "project_01: ok (11 assets, 6 jobs, 2 schedules), 1 warning",
        "  warning: source.password_env: the environment variable PROJECT_01_DB_PASSWORD is set "
        "but shorter than 8 characters; use a real secret",
    ]
    monkeypatch.setenv("PROJECT_01_DB_PASSWORD", "a-long-enough-secret")
    assert not any("warning" in line for line in lines(tenants, package, "project_01")[
        "project_01"])


def test_the_command_prints_the_lines_and_fails_on_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tenants = copy_tenants(tmp_path)
    monkeypatch.setenv("ETL_TENANTS_DIR", str(tenants))
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if not line.startswith("  ")] == [
                                "default: ok (9 assets, 5 jobs, 2 schedules)",
                                "project_01: ok (11 assets, 6 jobs, 2 schedules)",
                                "2 tenants: 2 ok, 0 with errors"]
    config = tenants / "default" / "config.yaml"
    config.write_text(config.read_text() + "assets:\n  inherit: [work_ordr]\n")
    assert main(["validate", "default"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "default: 1 error"
    assert "did you mean 'work_order'?" in out
    assert out.splitlines()[-1] == "1 tenant: 0 ok, 1 with errors"


def test_the_package_itself_validates() -> None:
    report = validate_tenants(DEFAULT_TENANTS_DIR, package_dir=PACKAGE_DIR)
    assert [(r.tenant, r.ok, r.warnings) for r in report] == [("default", True, []),
                                                              ("project_01", True, [])]


def test_connect_reaches_the_embedded_source_lake_and_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import seed_tenant

    monkeypatch.chdir(tmp_path)
    tenants = copy_tenants(tmp_path, ("default",))
    missing = validate_tenants(tenants, package_dir=PACKAGE_DIR, connect=True)[0]
    (problem,) = missing.errors
    assert "source.url: SQLite database file " in problem and "does not exist" in problem
    seed_tenant(tmp_path, "default")
    config = tenants / "default" / "config.yaml"
    config.write_text(config.read_text() + (
        "assets:\n  pipelines:\n    - name: work_order\n      table: wo_missing\n"))
    (problem,) = validate_tenants(tenants, package_dir=PACKAGE_DIR, connect=True)[0].errors
    assert problem == ("tenants/default/config.yaml:26: assets.pipelines[0]: pipeline "
                       "'work_order': table 'wo_missing' does not exist in the source")


def test_a_pipeline_that_is_never_loaded_says_so(site: tuple[Path, Path]) -> None:
    tenants, package = site
    config = tenants / "default" / "config.yaml"
    config.write_text(config.read_text() + (
        "assets:\n  pipelines:\n    - name: work_order\n      save_to_trino: false\n"))
    assert ("  work_order (daily by created_at): extract, transfer; not loaded into the "
            "warehouse (save_to_trino: false)") in lines(tenants, package, "default")["default"]


def test_tenants_outside_the_package_need_no_modules_of_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ETL_TENANTS_DIR`` elsewhere: ``etl.tenant_location`` serves those tenants, and the
    package's own sample tenants are not theirs, so nothing is missing."""
    tenants = copy_tenants(tmp_path, ("default",))
    shutil.copytree(tenants / "default", tenants / "site_b")
    config = tenants / "site_b" / "config.yaml"
    config.write_text(config.read_text().replace("id: default", "id: site_b")
                      .replace("  type: duckdb\n", "  type: duckdb\n  schema_name: site_b\n")
                      .replace(f"root: {tmp_path}/.etl/lake", f"root: {tmp_path}/.etl/lake_b"))
    monkeypatch.setenv("ETL_TENANTS_DIR", str(tenants))
    assert main(["validate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if not line.startswith("  ")] == [
        "default: ok (9 assets, 5 jobs, 2 schedules)",
        "site_b: ok (9 assets, 5 jobs, 2 schedules)",
        "2 tenants: 2 ok, 0 with errors"]
