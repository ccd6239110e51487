"""A tenant as a Dagster Component in another `dg` project: same definitions, same errors.

The project is written into tmp_path (pyproject with [tool.dg], a definitions module calling
``dg.load_from_defs_folder``, ``defs/<tenant>/defs.yaml``) and loaded through the Python API
and through the ``dg`` CLI; nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from etl import naming
from etl.config.config_loader import load_tenant_config
from etl.factories.definitions_factory import tenant_definitions
from tests.helpers import DAYS, copy_tenants, seed_tenant

VENV_BIN = Path(sys.executable).parent


def write_project(root: Path, tenants: Path) -> Path:
    """A dg project whose defs/ holds each tenant of ``tenants`` as a defs.yaml.

    Its package is named after the folder: Python caches imported packages by name, and each
    test's project must be its own.
    """
    package = package_of(root)
    src = root / "src" / package
    (src / "defs").mkdir(parents=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [project]
        name = "{package}"
        version = "0"
        [tool.dg]
        directory_type = "project"
        [tool.dg.project]
        root_module = "{package}"
        registry_modules = ["etl.components"]
        """))
    (src / "__init__.py").write_text("")
    (src / "definitions.py").write_text(textwrap.dedent("""\
        from pathlib import Path

        import dagster as dg


        @dg.definitions
        def defs() -> dg.Definitions:
            return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
        """))
    for folder in sorted(p for p in tenants.iterdir() if p.is_dir()):
        target = src / "defs" / folder.name
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("config.yaml",
                                                                       "__pycache__"))
        attributes = yaml.safe_load((folder / "config.yaml").read_text())
        (target / "defs.yaml").write_text(yaml.safe_dump(
            {"type": "etl.components.EtlTenant", "attributes": attributes}, sort_keys=False))
    return root


def package_of(root: Path) -> str:
    return "proj_" + "".join(c for c in root.parent.name.lower() if c.isalnum())


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    tenants = copy_tenants(tmp_path)
    for tenant in ("default", "project_01"):
        seed_tenant(tmp_path, tenant)
    return write_project(tmp_path / "proj", tenants), tenants


def describe(defs: dg.Definitions) -> dict[str, Any]:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    return {
        "assets": {k.to_user_string(): graph.get(k).code_version
                   for k in graph.get_all_asset_keys()},
        "checks": sorted(str(k) for k in graph.asset_check_keys),
        "jobs": sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith("__")),
        "schedules": sorted(s.name for s in repo.schedule_defs),
        "sensors": sorted(s.name for s in repo.sensor_defs),
    }


def test_defs_yaml_gives_the_same_definitions_as_the_tenant_folder(
    project: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, tenants = project
    monkeypatch.syspath_prepend(str(root / "src"))
    defs = dg.load_from_defs_folder(path_within_project=root)
    expected = dg.Definitions.merge(*(
        tenant_definitions(load_tenant_config(t, tenants), qualified=True)
        for t in ("default", "project_01")))
    assert describe(defs) == describe(expected)
    # The custom transfer next to defs.yaml runs, the checks run, the day lands.
    day = DAYS[0].isoformat()
    result = defs.resolve_job_def("project_01__daily_etl_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), partition_key=day)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} >= {naming.PRIMARY_KEY_UNIQUE_CHECK,
                                              "defects_within_output", naming.RECONCILE_CHECK}
    assert all(c.passed and c.partition == day for c in checks)


def test_a_bad_value_in_defs_yaml_names_its_line(project: tuple[Path, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root, _ = project
    file = root / "src" / package_of(root) / "defs" / "default" / "defs.yaml"
    lines = file.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("cron:"))
    lines[at] = lines[at].split(":")[0] + ": every day"
    file.write_text("\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(root / "src"))
    with pytest.raises(Exception) as info:  # Dagster loads components when they are used
        dg.load_from_defs_folder(path_within_project=root).get_repository_def()
    chain, error = [], info.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    assert any(f"{file}:{at + 1}: schedule.cron: not a valid cron expression" in text
               for text in chain), chain


def test_dg_lists_the_component_and_the_tenants_definitions(
    project: tuple[Path, Path], tmp_path: Path,
) -> None:
    root, _ = project
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "DAGSTER_HOME": str(tmp_path),
           "VIRTUAL_ENV": str(VENV_BIN.parent)}

    def dg_json(*args: str) -> Any:
        done = subprocess.run([str(VENV_BIN / "dg"), *args, "--json"], cwd=root, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    listed = dg_json("list", "defs")
    keys = {a["asset_key"] for a in listed["assets"]}
    assert "project_01/transfer/production_result" in keys and len(keys) == 20
    assert {j["name"] for j in listed["jobs"]} >= {"default__daily_etl_job",
                                                    "project_01__master_sync_job"}
    components = dg_json("list", "components")
    assert "etl.components.EtlTenant" in {c["key"] for c in components["items"]}
