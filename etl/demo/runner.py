"""``make demo``: seed the sample sources, run the jobs through Dagster, print what moved.

Everything runs on the embedded defaults (SQLite sources, a local lake folder, a DuckDB file),
through the same Dagster jobs a deployment schedules, recorded in a persistent Dagster instance
so ``make dev`` shows the runs afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import sqlalchemy as sa

from etl import naming
from etl.config.config_loader import load_tenant_config
from etl.config.discovery import discover_tenants
from etl.config.tenant_config import TenantConfig
from etl.demo.sample_db import SeedSummary, seed
from etl.factories.definitions_factory import tenant_definitions
from etl.sources.dialects.registry import dialect_for
from etl.sources.dispatch import resolve_url

Say = Callable[[str], None]
DEMO_AREA = Path(".etl")  # relative to the working directory, like the sample configs' paths
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def demo_days(config: TenantConfig, count: int, today: dt.date | None = None) -> list[dt.date]:
    """The last ``count`` complete days in the tenant's time zone."""
    now = today or dt.datetime.now(ZoneInfo(config.schedule.timezone)).date()
    return [now - dt.timedelta(days=i) for i in range(count, 0, -1)]


def instance() -> dg.DagsterInstance:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".etl/dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return dg.DagsterInstance.get()


def run_demo(tenants: Sequence[str] | None = None, days: int = 3, out: object = sys.stdout) -> int:
    def say(text: str) -> None:
        print(text, file=out, flush=True)  # type: ignore[call-overload]

    inst = instance()
    summaries: dict[str, tuple[TenantConfig, SeedSummary, list[str]]] = {}
    failed = 0
    for tenant in tenants or discover_tenants():
        loaded = load_tenant_config(tenant)
        config = loaded.config
        url = resolve_url(config.source.url or "", None) if config.source.url else None
        database = dialect_for(url).local_file(url) if url is not None else None
        if url is None or database is None:
            say(f"- {tenant}: source is not an embedded database file; skipped by the demo")
            continue
        if not database.is_relative_to(DEMO_AREA.resolve()):
            # Seeding drops and recreates the sample tables: never outside the demo's folder.
            say(f"- {tenant}: {database} is outside {DEMO_AREA}/; the demo seeds only there")
            continue
        database.parent.mkdir(parents=True, exist_ok=True)
        day_list = demo_days(config, days)
        summary = seed(sa.create_engine(url), day_list)
        keys = [d.isoformat() for d in day_list]
        say(f"== {tenant}: seeded {url.database} ({', '.join(keys)})")
        summaries[tenant] = (config, summary, keys)
        defs = tenant_definitions(loaded, qualified=False)
        for key in keys:
            failed += _run(say, defs, naming.DAILY_ETL_JOB, inst, key)
        if naming.MASTER_SYNC_JOB in {j.name for j in defs.resolve_all_job_defs()}:
            failed += _run(say, defs, naming.MASTER_SYNC_JOB, inst, None)
    say("")
    _report(say, summaries)
    say(f"\nDagster runs are recorded in {os.environ['DAGSTER_HOME']}; `make dev` shows them.")
    return 1 if failed else 0


def _run(say: Say, defs: dg.Definitions, job_name: str, inst: dg.DagsterInstance,
         partition_key: str | None) -> int:
    job = defs.resolve_job_def(job_name)
    started = time.monotonic()
    label = f"{job_name} [{partition_key or 'latest'}]"
    result = job.execute_in_process(
        instance=inst, partition_key=partition_key, run_config=QUIET_LOGS, raise_on_error=False
    )
    count = len(result.get_asset_materialization_events())
    status = "ok" if result.success else "FAILED"
    say(f"   {label:<36} {status:<6} {count:>2} assets  {time.monotonic() - started:5.1f}s")
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                error = event.step_failure_data.error
                cause = error.cause if error and error.cause else error
                say(f"      {cause.message.strip() if cause else 'step failed'}")
    return 0 if result.success else 1


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
