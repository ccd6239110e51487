"""`make demo` end to end, and the code locations as Dagster's own loader sees them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl.demo.runner import run_demo

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_every_tenant_and_reports_matching_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    out = io.StringIO()
    assert run_demo(days=2, out=out) == 0
    text = out.getvalue()
    daily = [line for line in text.splitlines() if "daily_etl_job [" in line]
    # A run and its last line per tenant; a slow run adds progress lines between (every 5 s).
    assert sum(": run " in line for line in daily) == 2
    assert sum("— ok in" in line for line in daily) == 2
    assert "master_sync_job [latest]: run" in text
    assert "FAILED" not in text
    rows = [line.split() for line in text.splitlines()
            if line.startswith(("default ", "project_01 "))]
    assert len(rows) == 7
    for tenant, pipeline, source, extract, transfer, load in rows:
        assert source == extract == load, (tenant, pipeline)
        assert transfer in (source, "-")
    assert (tmp_path / ".etl/warehouse.duckdb").is_file()
    assert (tmp_path / "dagster_home/dagster.yaml").is_file()


def test_workspace_and_all_pass_dagster_validation(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}  # the Makefile's may not exist yet
    for target in (["-w", "workspace.yaml"], ["-m", "etl.all"]):
        done = subprocess.run(
            [sys.executable, "-m", "dagster", "definitions", "validate", *target],
            cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "All code locations passed validation" in done.stderr + done.stdout


def test_demo_prints_the_cause_of_a_failed_run(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import copy_tenants

    tenants = copy_tenants(tmp_path, ("default",))
    config = tenants / "default" / "config.yaml"
    config.write_text(config.read_text() + (
        "assets:\n  pipelines:\n    - name: work_order\n      table: wo_missing\n"))
    monkeypatch.setenv("ETL_TENANTS_DIR", str(tenants))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert run_demo(["default"], days=2, out=out) == 1
    text = out.getvalue()
    assert "FAILED" in text
    assert "table 'wo_missing' does not exist in the source" in text
