"""Shared test helpers: sample tenants copied into a temporary folder, resources as configured."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa

from etl.config.config_loader import DEFAULT_TENANTS_DIR
from etl.config.source import SourceConfig
from etl.config.storage import StorageConfig
from etl.demo.sample_db import SeedSummary, seed
from etl.resources.rdb import SourceDatabaseResource
from etl.resources.s3 import StorageResource
from etl.warehouse.duckdb import DuckDBWarehouseConfig
from etl.warehouse.duckdb_loader import DuckDBWarehouse

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


def source_resource(url: str, *, password: str | None = None, timezone: str = "UTC",
                    **config: Any) -> SourceDatabaseResource:
    """The source resource a tenant would get for ``url`` and ``config`` (``source:`` keys),
    with the password given as a value, as the run would read it from the environment."""
    built = SourceDatabaseResource.from_config(SourceConfig(url=url, **config), timezone)
    return SourceDatabaseResource(
        url=url, password=password, db_schema=built.db_schema, engine=built.engine,
        batch_size=built.batch_size, statement_timeout_s=built.statement_timeout_s,
        read_timeout_s=built.read_timeout_s, timezone=built.timezone,
    )


def storage_resource(root: str, **values: Any) -> StorageResource:
    """The storage resource of ``storage: {root: ...}``; ``values`` override fields (keys)."""
    built = StorageResource.from_config(StorageConfig(root=root))
    fields = {"root": root, "endpoint_url": built.endpoint_url, "region": built.region,
              "path_style": built.path_style, "compression": built.compression,
              "connect_timeout_s": built.connect_timeout_s,
              "request_timeout_s": built.request_timeout_s}
    return StorageResource(**{**fields, **values})


def duckdb_warehouse(path: Path | str, schema: str) -> DuckDBWarehouse:
    """The loader a tenant with ``warehouse: {type: duckdb, path: ...}`` gets."""
    config = DuckDBWarehouseConfig(type="duckdb", path=str(path), schema_name=schema)
    return config.build_resource(schema).warehouse()


RUNAWAY_SQL = "SELECT s.*, r.range AS n FROM source s, range(1000000000000) r"
"""A transfer that never ends: every row joined with a trillion numbers."""


def runaway_tenant(tmp: Path, days: tuple[dt.date, ...], timeout_s: float) -> dict[str, str]:
    """The default tenant under ``tmp`` whose work_order transfer is :data:`RUNAWAY_SQL`, its
    source seeded for ``days``; the environment an ``etl`` command needs for it."""
    tenants = copy_tenants(tmp, ("default",))
    seed_tenant(tmp, "default", days)
    config = tenants / "default" / "config.yaml"
    config.write_text(config.read_text() + (
        "assets:\n  pipelines:\n    - name: work_order\n      has_transfer: true\n"
        f"      transfer:\n        sql: {RUNAWAY_SQL}\n        timeout_s: {timeout_s}\n"))
    return {"ETL_TENANTS_DIR": str(tenants), "DAGSTER_HOME": str(tmp / "dagster_home")}


def growing_file(folder: Path, proc: Any, timeout: float, size: int = 1_000_000) -> Path:
    """The first ``*.parquet`` in ``folder`` once it is past ``size`` bytes (a transfer is
    writing it), while the process ``proc`` (a ``subprocess.Popen``) still runs."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0].decode(errors="replace")
        files = list(folder.glob("*.parquet")) if folder.exists() else []
        if files and files[0].stat().st_size > size:
            return files[0]
        time.sleep(0.1)
    raise AssertionError("the transfer never started writing")
