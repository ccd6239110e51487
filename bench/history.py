"""The methods of the history bench (``bench/backfill.py``), each run in its own process.

Each method returns its own time (``seconds``: the work alone, from just before it starts to
just after it ends; interpreter start, imports and the check of the result are outside it) and
what it observed. The project's methods run ``etl backfill`` of the whole history into a local
lake and a DuckDB warehouse, recorded in a Dagster instance; ``data-path`` runs the same step's
stages without Dagster (no run, no event); the DuckDB methods are the floor.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TENANT = "default"  # a tenant id with a code-location module; its folder is the bench's own
PASSWORD_ENV = "DEFAULT_BENCH_DB_PASSWORD"  # a tenant names only its own variables
SERVER_ENV = "ETL_BENCH_SERVER_URL"  # the PostgreSQL server, for the instance databases
PARALLEL_ENV = "ETL_BENCH_MAX_PARALLEL"  # the tenant's source.max_parallel (default: its own)


@dataclass(frozen=True)
class Shape:
    """What is loaded: tables (name, date column, primary key), their days and pipelines."""

    name: str
    tables: tuple[tuple[str, str, tuple[str, ...]], ...]
    first_day: dt.date
    days: int
    pipelines: str  # the ``assets.pipelines`` entries of the tenant's config


@dataclass
class Outcome:
    seconds: float
    ok: bool
    note: str
    extra: dict[str, Any] = field(default_factory=dict)
    # The process's peak RSS when the method's work ended: before the bench's own checks read
    # the run's events back and compare every day with the source.
    peak_rss_mib: float | None = None


def peak_rss_mib() -> float:
    """This process's peak RSS so far (Linux reports ru_maxrss in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


Method = Callable[[Shape, str, Path], Outcome]


# --- the project ---------------------------------------------------------------------------

def project(shape: Shape, url: str, out: Path) -> Outcome:
    """``etl backfill`` of every day, recorded in the local home (batching SQLite event log)."""
    environment(shape, url, out)
    return _backfill(shape, url, out, "local home")


def project_serial(shape: Shape, url: str, out: Path) -> Outcome:
    """The same with one pipeline at a time (``source.max_parallel: 1``): whether the tenant's
    pipelines, run at once by default, slow each other down on this machine."""
    os.environ[PARALLEL_ENV] = "1"  # this child process runs this one method
    return project(shape, url, out)


def project_stock(shape: Shape, url: str, out: Path) -> Outcome:
    """The same, recorded by Dagster's own SQLite event log (the storage before this one)."""
    environment(shape, url, out)
    home = out / "dagster_home"
    (home / "dagster.yaml").write_text(yaml.safe_dump({
        "telemetry": {"enabled": False},
        "event_log_storage": {"module": "dagster._core.storage.event_log",
                              "class": "SqliteEventLogStorage",
                              "config": {"base_dir": str(home / "history" / "runs")}}}))
    return _backfill(shape, url, out, "stock SQLite event log")


def project_postgres(shape: Shape, url: str, out: Path) -> Outcome:
    """The same, recorded in a PostgreSQL instance (a fresh database on the bench's server)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from etl.instance.storage import postgres_storages

    environment(shape, url, out)
    server = make_url(os.environ[SERVER_ENV])
    database = f"etl_bench_instance_{uuid.uuid4().hex[:8]}"
    admin = psycopg.conninfo.make_conninfo(host=server.host or "", port=server.port or 5432,
                                           user=server.username or "",
                                           password=server.password or "", dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    db = {"hostname": server.host, "port": server.port, "username": server.username,
          "password": server.password, "db_name": database, "scheme": "postgresql+psycopg2"}
    (out / "dagster_home" / "dagster.yaml").write_text(yaml.safe_dump(
        {**postgres_storages(db), "telemetry": {"enabled": False}}))
    try:
        found = _backfill(shape, url, out, "PostgreSQL instance")
        with psycopg.connect(admin, autocommit=True) as conn:
            size = conn.execute("SELECT pg_database_size(%s)", (database,)).fetchone()
        found.extra["instance_mib"] = round(int(size[0]) / 2**20, 1) if size else None
        return found
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _backfill(shape: Shape, url: str, out: Path, where: str) -> Outcome:
    import dagster as dg

    from etl.cli.main import main as etl
    from etl.instance import buffer

    lines = _progress_lines()
    last = shape.first_day + dt.timedelta(days=shape.days - 1)
    started = time.monotonic()
    code = etl(["backfill", TENANT, "--from", shape.first_day.isoformat(), "--to",
                last.isoformat()])
    seconds = time.monotonic() - started
    peak = peak_rss_mib()
    if code != 0:
        return Outcome(seconds, False, f"etl backfill exited {code}")
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs(limit=1)
        events = len(instance.get_records_for_run(run.run_id, limit=1_000_000).records)
    mismatched = compare_days(shape, url, out)
    extra = {"events": events, "stored_events": buffer.STATS["events"],
             "storage_s": round(buffer.STATS["seconds"], 2),
             "eta": eta_accuracy(lines, started, started + seconds, shape.days),
             "home_mib": round(_size(out / "dagster_home") / 2**20, 1)}
    return Outcome(seconds, not mismatched, f"{where}; days off: {mismatched}", extra, peak)


def data_path(shape: Shape, url: str, out: Path) -> Outcome:
    """The step's stages over every day (extract, checks, load, row counts) without Dagster:
    no run, no event; what a range costs in data alone."""
    import dagster as dg

    from etl import naming
    from etl.factories.resource_factory import build_resources
    from etl.factories.transfers import resolve_transfers
    from etl.runs.plan import TenantJobs
    from etl.stages.step import StepInputs, run_pipelines
    from etl.utils.days import day_range

    environment(shape, url, out)
    jobs = TenantJobs.load(TENANT)
    config = jobs.loaded.config
    daily = [p for p in config.assets.enabled if p.is_partitioned]
    graph = jobs.defs.resolve_asset_graph()
    days = tuple(day_range(shape.first_day, shape.first_day + dt.timedelta(days=shape.days - 1)))
    started = time.monotonic()
    with dg.build_resources(build_resources(config)) as resources:
        inputs = StepInputs(
            tenant=TENANT, days=days, selected=frozenset(graph.get_all_asset_keys()),
            # The daily job's checks: not the reconcile's matches_source (nor freshness, which
            # a sensor records), which need an instance and are no part of a backfill.
            selected_checks=frozenset(k for k in graph.asset_check_keys if k.name not in (
                naming.SOURCE_CHECK, naming.FRESHNESS_CHECK)),
            source=getattr(resources, f"{TENANT}__source"),
            storage=getattr(resources, f"{TENANT}__storage"),
            warehouse=getattr(resources, f"{TENANT}__warehouse"),
            days_per_scan=config.backfill.days_per_scan, retry=config.runs.retry)
        events = sum(1 for _ in run_pipelines(inputs, daily, resolve_transfers(jobs.loaded),
                                              config.source.max_parallel, _Log()))
    seconds = time.monotonic() - started
    peak = peak_rss_mib()
    mismatched = compare_days(shape, url, out)
    return Outcome(seconds, not mismatched, f"{events} events not emitted; days off: "
                   f"{mismatched}", peak_rss_mib=peak)


class _Log:
    def info(self, message: str) -> None:
        pass

    def error(self, message: str) -> None:
        print(message, file=sys.stderr)


# --- the floor -----------------------------------------------------------------------------

def duckdb_copy(shape: Shape, url: str, out: Path) -> Outcome:
    """DuckDB's ``COPY (SELECT ...) TO 'one.parquet'`` per table (one scan, no load)."""
    started = time.monotonic()
    con = _attached(url)
    for table, _, _ in shape.tables:
        con.execute(f"COPY (SELECT * FROM src.public.{table}) TO '{out}/{table}.parquet' "
                    "(FORMAT parquet, COMPRESSION zstd)")
    seconds = time.monotonic() - started
    return Outcome(seconds, True, "one file per table")


def duckdb_partitioned(shape: Shape, url: str, out: Path) -> Outcome:
    """The same with ``PARTITION_BY`` the day (a folder per day, no load, no atomic replace)."""
    started = time.monotonic()
    con = _attached(url)
    for table, column, _ in shape.tables:
        con.execute(f"COPY (SELECT *, CAST({column} AS DATE) AS day FROM src.public.{table}) "
                    f"TO '{out}/{table}' (FORMAT parquet, PARTITION_BY (day), COMPRESSION zstd)")
    seconds = time.monotonic() - started
    folders = min(len(list((out / t).iterdir())) for t, _, _ in shape.tables)
    return Outcome(seconds, folders == shape.days, f"{folders} day folders per table")


def old_way(shape: Shape, url: str, out: Path, days: int = 20) -> Outcome:
    """One ``etl run --day`` process per day for ``days`` days, extrapolated to all."""
    environment(shape, url, out)
    started = time.monotonic()
    for i in range(days):
        day = (shape.first_day + dt.timedelta(days=i)).isoformat()
        done = subprocess.run([sys.executable, "-m", "etl.cli", "run", TENANT, "daily_etl_job",
                               "--day", day], cwd=out, capture_output=True, text=True)
        if done.returncode != 0:
            return Outcome(0.0, False, f"etl run --day {day} failed: {done.stderr[-500:]}")
    seconds = (time.monotonic() - started) * shape.days / days
    return Outcome(seconds, True, f"{days} days, extrapolated x{shape.days / days:g}")


METHODS: dict[str, Method] = {
    "project": project,
    "project-postgres": project_postgres,
    "project-serial": project_serial,
    "project-stock": project_stock,
    "data-path": data_path,
    "duckdb-copy": duckdb_copy,
    "duckdb-partitioned": duckdb_partitioned,
    "old-way": old_way,
}


# --- helpers ---------------------------------------------------------------------------------

def environment(shape: Shape, url: str, out: Path) -> None:
    """A tenant folder for the bench tables, its lake, warehouse and Dagster home under ``out``."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    parallel = (f"\n  max_parallel: {os.environ[PARALLEL_ENV]}" if os.environ.get(PARALLEL_ENV)
                else "")
    folder = out / "tenants" / TENANT
    folder.mkdir(parents=True)
    common = "".join(f"    - name: {n}\n      enabled: false\n"
                     for n in ("work_order", "production_result", "quality_inspection"))
    (folder / "config.yaml").write_text(f"""\
tenant: {{id: {TENANT}, name: History bench}}
source:
  url: {parsed._replace(password=None).render_as_string(hide_password=False)}
  password_env: {PASSWORD_ENV}{parallel}
storage: {{root: {out}/lake}}
warehouse: {{type: duckdb, path: {out}/warehouse.duckdb}}
schedule: {{start_date: {shape.first_day.isoformat()}, timezone: UTC}}
assets:
  pipelines:
{common}{shape.pipelines}""")
    os.environ.update({PASSWORD_ENV: str(parsed.password or ""),
                       "ETL_TENANTS_DIR": str(out / "tenants"),
                       "DAGSTER_HOME": str(out / "dagster_home")})
    (out / "dagster_home").mkdir()
    os.chdir(out)


def compare_days(shape: Shape, url: str, out: Path) -> int:
    """Days whose warehouse count differs from the source's, over every table (0: all exact)."""
    import duckdb
    import psycopg

    from bench.table import _conninfo

    off = 0
    with psycopg.connect(_conninfo(url)) as conn, \
            duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        for table, column, _ in shape.tables:
            source = dict(conn.execute(
                f"SELECT {column}::date, count(*) FROM {table} GROUP BY 1").fetchall())
            loaded = dict(con.sql(f'SELECT dt, count(*) FROM "{TENANT}"."{table}" GROUP BY 1')
                          .fetchall())
            off += sum(1 for d, n in source.items() if loaded.get(d) != n) + abs(
                len(loaded) - len(source))
    return off


def _attached(url: str) -> Any:
    from bench.methods import attached_duckdb
    from bench.table import BenchTable

    return attached_duckdb(BenchTable(url=url, rows=0, days=0))


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _progress_lines() -> list[tuple[float, str]]:
    """The progress lines the run prints, with the time of each (for the ETA's accuracy)."""
    from etl.runs import progress

    lines: list[tuple[float, str]] = []
    emit = progress.RunWatcher._emit

    def recorded(self: Any, line: str, final: bool = False) -> None:
        lines.append((time.monotonic(), line))
        emit(self, line, final)

    progress.PLAIN_EVERY_S = 1.0
    progress.RunWatcher._emit = recorded  # type: ignore[method-assign]
    return lines


def eta_accuracy(lines: list[tuple[float, str]], started: float, ended: float,
                 days: int) -> dict[str, Any]:
    """The printed time left over the real remainder, from 10 % of the days done (first
    stage) on: the lowest and highest ratio, and how many lines showed one."""
    import re

    ratios = []
    for at, line in lines:
        eta = re.search(r"ETA (?:(\d+):)?(\d+):(\d+)", line)
        stage = re.search(r"\((?:extract|transfer|load) ([\d,]+)", line)
        if eta is None or stage is None or int(stage.group(1).replace(",", "")) < days / 10:
            continue
        left = int(eta.group(1) or 0) * 3600 + int(eta.group(2)) * 60 + int(eta.group(3))
        truth = ended - at
        if truth > 1.0:
            ratios.append(left / truth)
    return {"lines": len(ratios), "min": round(min(ratios), 2) if ratios else None,
            "max": round(max(ratios), 2) if ratios else None}
