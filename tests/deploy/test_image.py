"""The user-code image's install steps, run as the Dockerfile runs them (without Docker).

The build context is copied as the Dockerfile's ``COPY`` lines copy it, then its ``uv sync``
lines run with the uv the Makefile pins. The environment they make must hold Dagster's
Kubernetes run launcher and every tenant's code location, as the chart's pods load them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etl.config.discovery import discover_tenants
from etl.runs.launch import CodeLocation

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def makefile_uv_version() -> str:
    found = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert found
    return found.group(1)


def uv() -> str:
    """The uv ``make`` installed (or found on PATH), the same version as the Dockerfile's."""
    private = ROOT / ".cache" / "uv" / "bin" / "uv"
    found = str(private) if private.exists() else shutil.which("uv")
    assert found, "no uv: run `make venv` first"
    return found


def test_the_image_uses_the_uv_that_wrote_the_lock() -> None:
    text = DOCKERFILE.read_text()
    assert f"ghcr.io/astral-sh/uv:{makefile_uv_version()} " in text
    assert (ROOT / ".dockerignore").read_text().splitlines()[:3] == [".venv", ".cache", ".etl"]


def test_the_images_install_steps_give_every_tenants_code_location(tmp_path: Path) -> None:
    text = DOCKERFILE.read_text().split("\nFROM ", 2)[1]  # the build stage
    context = tmp_path / "app"
    context.mkdir()
    for sources, _ in re.findall(r"^COPY (?!--)(.+) (\S+)$", text, re.M):
        for name in sources.split():
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, context / name,
                                ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(source, context / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_"))}
    env.update(dict(re.findall(r"(UV_[A-Z_]+)=(\S+)", text)))
    env["UV_PYTHON"] = sys.executable  # the slim image's Python is this one's version
    for step in re.findall(r"^RUN (uv sync .+)$", text, re.M):
        done = subprocess.run([uv(), *step.split()[1:]], cwd=context, env=env,
                              capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, f"{step}\n{done.stderr[-3000:]}"
    python = context / ".venv" / "bin" / "python"
    # What the chart's pods run: each tenant's -m module (helm-values), and etl.all.
    modules = [CodeLocation.of_tenant(t).module for t in discover_tenants()] + ["etl.all"]
    check = (
        "import importlib, sys, dagster_k8s, dagster_postgres\n"
        "import etl\n"
        "assert '/site-packages/' in etl.__file__, etl.__file__  # installed, not editable\n"
        "for module in sys.argv[1:]:\n"
        "    defs = importlib.import_module(module).defs\n"
        "    print(module, len(list(defs().resolve_all_job_defs())))\n"
    )
    done = subprocess.run([str(python), "-c", check, *modules], cwd=tmp_path, env={
        "PATH": os.environ["PATH"], "HOME": str(tmp_path)}, capture_output=True, text=True,
        timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line.split()[0] for line in done.stdout.splitlines()] == modules
