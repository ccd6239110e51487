"""The project itself under the `dg` CLI: `dg check defs`, and `dg launch` over a range of days."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from etl import naming
from tests.helpers import DAYS, copy_tenants, seed_tenant

ROOT = Path(__file__).resolve().parents[2]
DG = Path(sys.executable).parent / "dg"


def dg_run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(DG), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "VIRTUAL_ENV": str(DG.parent.parent),
                                            **env})
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done


def test_dg_check_defs_loads_every_tenant(tmp_path: Path) -> None:
    done = dg_run("check", "defs", env={"DAGSTER_HOME": str(tmp_path)})
    assert "All definitions loaded successfully." in done.stdout + done.stderr


def test_dg_launch_runs_a_range_of_days_as_one_run(tmp_path: Path) -> None:
    tenants = copy_tenants(tmp_path, ("default",))
    seed_tenant(tmp_path, "default")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    first, last = (d.isoformat() for d in DAYS)
    dg_run("launch", "--assets", 'key:"default/*/work_order"',
           "--partition-range", f"{first}...{last}",
           env={"DAGSTER_HOME": str(home), "ETL_TENANTS_DIR": str(tenants)})
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.tags[naming.RANGE_START_TAG] == first and run.tags[naming.RANGE_END_TAG] == last
        for stage in naming.STAGES:
            key = naming.asset_key("default", stage, "work_order")
            assert instance.get_materialized_partitions(key) == {first, last}
