"""Shared test helpers: sample tenants copied into a temporary folder."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from etl.config.config_loader import DEFAULT_TENANTS_DIR
from etl.demo.sample_db import SeedSummary, seed

DAYS = (dt.date(2026, 3, 1), dt.date(2026, 3, 2))


def copy_tenants(tmp: Path, tenants: tuple[str, ...] = ("default", "project_01")) -> Path:
    """The sample tenants with every ``.etl/`` path moved under ``tmp``."""
    tenants_dir = tmp / "tenants"
    for tenant in tenants:
        shutil.copytree(DEFAULT_TENANTS_DIR / tenant, tenants_dir / tenant,
                        ignore=shutil.ignore_patterns("__pycache__"))
        config = tenants_dir / tenant / "config.yaml"
        config.write_text(config.read_text().replace(".etl/", f"{tmp}/.etl/"))
    return tenants_dir


def seed_tenant(tmp: Path, tenant: str, days: tuple[dt.date, ...] = DAYS) -> SeedSummary:
    path = tmp / ".etl" / "sources" / f"{tenant}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return seed(sa.create_engine(f"sqlite:///{path}"), list(days))


def run_job(defs: dg.Definitions, job: str, partition_key: str | None,
            instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, partition_key=partition_key, raise_on_error=True
    )
    assert result.success
    return result
