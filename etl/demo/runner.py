"""``make demo``: seed the sample sources, run the jobs through Dagster, print what moved.

Everything runs on the embedded defaults (SQLite sources, a local lake folder, a DuckDB file),
through the path ``etl backfill`` and ``etl run`` take: each tenant's days as one range run of
``daily_etl_job`` and its master data through ``master_sync_job``, recorded in a persistent
Dagster instance with their code location, so ``make dev`` shows them on the jobs' pages.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from etl import naming
from etl.config.discovery import discover_tenants
from etl.config.tenant_config import TenantConfig
from etl.demo.sample_db import SeedSummary, seed
from etl.sources.dialects.registry import dialect_for
from etl.sources.dispatch import resolve_url

Say = Callable[[str], None]
DEMO_AREA = Path(".etl")  # relative to the working directory, like the sample configs' paths


def demo_days(config: TenantConfig, count: int, today: dt.date | None = None) -> list[dt.date]:
    """The last ``count`` complete days in the tenant's time zone."""
    now = today or dt.datetime.now(ZoneInfo(config.schedule.timezone)).date()
    return [now - dt.timedelta(days=i) for i in range(count, 0, -1)]


def run_demo(tenants: Sequence[str] | None = None, days: int = 3,
             out: TextIO = sys.stdout) -> int:
    from etl.runs.console import execute
    from etl.runs.home import instance
    from etl.runs.plan import TenantJobs, plan_backfill, plan_run

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    summaries: dict[str, tuple[TenantConfig, SeedSummary, list[str]]] = {}
    failed = 0
    with instance() as inst:
        for tenant in tenants or discover_tenants():
            jobs = TenantJobs.load(tenant)
            config = jobs.loaded.config
            seeded = _seed(say, tenant, config, days)
            if seeded is None:
                continue
            summary, day_list = seeded
            keys = [d.isoformat() for d in day_list]
            summaries[tenant] = (config, summary, keys)
            for request in plan_backfill(jobs, day_list[0], day_list[-1]):
                failed += not execute(inst, jobs, request, out, indent="   ")
            if naming.MASTER_SYNC_JOB in {j.name for j in jobs.defs.resolve_all_job_defs()}:
                request = plan_run(jobs, naming.MASTER_SYNC_JOB, None)
                failed += not execute(inst, jobs, request, out, indent="   ")
    say("")
    _report(say, summaries)
    say(f"\nDagster runs are recorded in {os.environ['DAGSTER_HOME']}; `make dev` shows them.")
    return 1 if failed else 0


def _seed(say: Say, tenant: str, config: TenantConfig,
          days: int) -> tuple[SeedSummary, list[dt.date]] | None:
    url = resolve_url(config.source.url or "", None) if config.source.url else None
    database = dialect_for(url).local_file(url) if url is not None else None
    if url is None or database is None:
        say(f"- {tenant}: source is not an embedded database file; skipped by the demo")
        return None
    if not database.is_relative_to(DEMO_AREA.resolve()):
        # Seeding drops and recreates the sample tables: never outside the demo's folder.
        say(f"- {tenant}: {database} is outside {DEMO_AREA}/; the demo seeds only there")
        return None
    database.parent.mkdir(parents=True, exist_ok=True)
    day_list = demo_days(config, days)
    summary = seed(sa.create_engine(url), day_list)
    say(f"== {tenant}: seeded {url.database} ({', '.join(d.isoformat() for d in day_list)})")
    return summary, day_list


def _report(say: Say, summaries: dict[str, tuple[TenantConfig, SeedSummary, list[str]]]) -> None:
    header = (f"{'tenant':<12} {'pipeline':<20} {'source':>8} {'extract':>8} {'transfer':>9} "
              f"{'load':>8}")
    say(header)
    say("-" * len(header))
    for tenant, (config, summary, keys) in summaries.items():
        warehouse = config.warehouse.build_resource(tenant).warehouse()
        lake = Path(config.storage.root)
        for pipeline in config.assets.enabled:
            parts: Sequence[str | None] = keys if pipeline.is_partitioned else [None]
            table = pipeline.table or ""
            source = (
                sum(summary.rows(table, k) for k in keys if k)
                if table in summary.per_day else summary.items
            )
            counts = [
                _parquet_rows(lake, tenant, stage, pipeline.name, parts)
                if (stage == "extract" or (stage == "transfer" and pipeline.has_transfer))
                else None
                for stage in ("extract", "transfer")
            ]
            loaded = None
            if pipeline.save_to_trino:
                loaded = (sum(warehouse.count_days(pipeline.name, keys, None).values())
                          if pipeline.is_partitioned else warehouse.count_all(pipeline.name, None))
            cells = [_cell(c) for c in (*counts, loaded)]
            say(f"{tenant:<12} {pipeline.name:<20} {source:>8} {cells[0]:>8} {cells[1]:>9} "
                f"{cells[2]:>8}")
        say(f"  files: {lake.resolve() / tenant}")
        say(f"  warehouse: {config.warehouse.describe(tenant)}")


def _parquet_rows(lake: Path, tenant: str, stage: naming.Stage, pipeline: str,
                  parts: Sequence[str | None]) -> int:
    import pyarrow.parquet as pq

    total = 0
    for part in parts:
        file = lake / naming.data_file_path(tenant, stage, pipeline, part)
        total += pq.read_metadata(file).num_rows if file.exists() else 0
    return total


def _cell(value: int | None) -> str:
    return "-" if value is None else str(value)
