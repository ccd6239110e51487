"""History benchmark: a tenant's whole history through ``etl backfill``, beside DuckDB's COPY.

    uv run --group bench python -m bench.backfill [--dsn URL] [--rows 5000000] [--days 2000]
                                                  [--repeat 3] [--old-days 20] [--trino]

A PostgreSQL table of ``--rows`` rows over ``--days`` days (the extraction bench's column mix,
an index on the date column) is generated server-side, then these run in their own processes,
round-robin, ``--repeat`` rounds (medians reported):

* ``project``: ``etl backfill`` of every day into a local lake (one Parquet file per day,
  replaced atomically) and a DuckDB warehouse, row-count checks included, recorded in a
  Dagster instance (sqlite ``DAGSTER_HOME``), with every day's warehouse count compared with
  the source afterwards;
* ``project-in-memory``: the same, its run recorded in Dagster's in-memory instance, which
  shows what storing each day's materializations and check results costs;
* ``project-without-events``: the in-memory run with those per-day events not emitted (the
  data path and the run's fixed cost), which shows what emitting them costs in the run;
* ``duckdb-copy``: DuckDB's ``COPY (SELECT ...) TO 'one.parquet'`` (one scan, one file, no load);
* ``duckdb-partitioned``: the same with ``PARTITION_BY`` the day (one folder per day, no load,
  no atomic replace);
* ``old-way``: one ``etl run ... --day`` process per day for ``--old-days`` days, extrapolated.

With ``--trino`` the same history is also extracted to S3 and loaded into Trino in both modes
(servers started through ``tools/services``); the time and the number of Trino statements of
each load are printed. Figures go to the ``backfill`` section of ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.results import update
from bench.table import FIRST_DAY, TABLE, BenchTable, ensure_table, server

ROOT = Path(__file__).resolve().parents[1]
URL_ENV = "ETL_BENCH_URL"
PASSWORD_ENV = "DEFAULT_BENCH_DB_PASSWORD"  # a tenant names only its own variables
TENANT = "default"  # a tenant id with a code-location module; its folder is the bench's own
TARGET_S = 2.0  # the project within 2x the single-file COPY
RSS_TARGET_MIB = 512


@dataclass
class Run:
    method: str
    seconds: float
    peak_rss_mib: float
    ok: bool
    note: str


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.child:
        return child(args)
    with server(args.dsn) as url:
        table = ensure_table(url, args.rows, args.days)
        print(f"table: {table.rows:,} rows over {table.days} days")
        methods = [m for m in METHODS if not args.only or m in args.only]
        runs: dict[str, list[Run]] = {m: [] for m in methods}
        for i in range(args.repeat):
            for method in methods:
                runs[method].append(run_child(method, table, args))
                print(f"[{i + 1}/{args.repeat}] {line(runs[method][-1])}", flush=True)
        trino = load_into_trino(table, args) if args.trino else None
    summary = summarize(runs, args, table)
    print(report(summary))
    if trino is not None:
        summary["trino"] = trino
        print(trino_report(trino))
    print(f"wrote {update('backfill', summary)}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dsn", help="SQLAlchemy URL of a PostgreSQL server (default: start one)")
    p.add_argument("--rows", type=int, default=5_000_000)
    p.add_argument("--days", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--old-days", type=int, default=20, help="days the old way runs")
    p.add_argument("--only", nargs="*", help="run only these methods")
    p.add_argument("--trino", action="store_true", help="also load the history into Trino")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p


# --- the methods, each run in a child process --------------------------------------------


def project(table: BenchTable, out: Path, args: argparse.Namespace) -> tuple[bool, str]:
    """``etl backfill`` of the whole history, then every day's count against the source."""
    from etl.cli.main import main as etl

    environment(table, out)
    last = FIRST_DAY + dt.timedelta(days=table.days - 1)
    started = time.monotonic()
    code = etl(["backfill", TENANT, "--from", FIRST_DAY.isoformat(), "--to", last.isoformat()])
    seconds = time.monotonic() - started
    if code != 0:
        return False, f"etl backfill exited {code}"
    mismatched = compare_days(table, out)
    return not mismatched, f"{seconds:.2f}s in etl backfill; days off: {mismatched}"


def project_in_memory(table: BenchTable, out: Path,
                      args: argparse.Namespace) -> tuple[bool, str]:
    """The same ``etl backfill``, its run recorded in Dagster's in-memory instance.

    Not a way to run it (nothing is kept): beside ``project`` it shows what recording every
    day's events in the instance's storage costs, and what the data path alone takes.
    """
    import dagster as dg

    import etl.runs.home

    etl.runs.home.instance = dg.DagsterInstance.ephemeral
    return project(table, out, args)


def project_without_events(table: BenchTable, out: Path,
                           args: argparse.Namespace) -> tuple[bool, str]:
    """The in-memory run with the per-day materializations and check results not emitted.

    Not a way to run it either (Dagster would show no day done): it leaves the data path (one
    scan cut into day files, the load, the row counts) and the run's fixed cost, so beside
    ``project-in-memory`` it shows what emitting the per-day events costs.
    """
    import dagster as dg

    from etl.stages import step as runner

    per_day = (dg.AssetMaterialization, dg.AssetCheckEvaluation, dg.AssetCheckResult)
    guarded = runner._run_guarded

    def without_events(inputs: Any, pipeline: Any, transfer: Any, emit: Any) -> None:
        guarded(inputs, pipeline, transfer,
                lambda item: None if isinstance(item, per_day) else emit(item))

    runner._run_guarded = without_events  # type: ignore[assignment]
    return project_in_memory(table, out, args)


def old_way(table: BenchTable, out: Path, args: argparse.Namespace) -> tuple[bool, str]:
    """One run per day (a new process each, like a run worker per partition)."""
    environment(table, out)
    for i in range(args.old_days):
        day = (FIRST_DAY + dt.timedelta(days=i)).isoformat()
        done = subprocess.run([sys.executable, "-m", "etl.cli", "run", TENANT, "daily_etl_job",
                               "--day", day], cwd=out, capture_output=True, text=True)
        if done.returncode != 0:
            return False, f"etl run --day {day} failed: {done.stderr[-500:]}"
    return True, f"{args.old_days} days, extrapolated x{table.days / args.old_days:g}"


def duckdb_copy(table: BenchTable, out: Path, args: argparse.Namespace) -> tuple[bool, str]:
    from bench.methods import attached_duckdb

    con = attached_duckdb(table)
    con.execute(f"COPY (SELECT * FROM src.public.{TABLE}) TO '{out}/one.parquet' "
                "(FORMAT parquet, COMPRESSION zstd)")
    rows = con.sql(f"SELECT count(*) FROM '{out}/one.parquet'").fetchone()
    return bool(rows and rows[0] == table.rows), "one file"


def duckdb_partitioned(table: BenchTable, out: Path,
                       args: argparse.Namespace) -> tuple[bool, str]:
    from bench.methods import attached_duckdb

    con = attached_duckdb(table)
    con.execute(f"COPY (SELECT *, CAST(event_ts AS DATE) AS day FROM src.public.{TABLE}) "
                f"TO '{out}/days' (FORMAT parquet, PARTITION_BY (day), COMPRESSION zstd)")
    folders = len(list((out / "days").iterdir()))
    return folders == table.days, f"{folders} day folders"


METHODS: dict[str, Callable[[BenchTable, Path, argparse.Namespace], tuple[bool, str]]] = {
    "project": project,
    "project-in-memory": project_in_memory,
    "project-without-events": project_without_events,
    "duckdb-copy": duckdb_copy,
    "duckdb-partitioned": duckdb_partitioned,
    "old-way": old_way,
}


def environment(table: BenchTable, out: Path) -> None:
    """A tenant folder for the bench table, its lake, warehouse and Dagster home under ``out``."""
    from sqlalchemy.engine import make_url

    url = make_url(table.url)
    folder = out / "tenants" / TENANT
    folder.mkdir(parents=True)
    common = "".join(f"    - name: {n}\n      enabled: false\n"
                     for n in ("work_order", "production_result", "quality_inspection"))
    (folder / "config.yaml").write_text(f"""\
tenant: {{id: {TENANT}, name: History bench}}
source:
  url: {url._replace(password=None).render_as_string(hide_password=False)}
  password_env: {PASSWORD_ENV}
storage: {{root: {out}/lake}}
warehouse: {{type: duckdb, path: {out}/warehouse.duckdb}}
schedule: {{start_date: {FIRST_DAY.isoformat()}, timezone: UTC}}
assets:
  pipelines:
{common}    - name: {TABLE}
      table: {TABLE}
      date_column: event_ts
      save_to_trino: true
""")
    os.environ.update({PASSWORD_ENV: str(url.password or ""), "ETL_TENANTS_DIR": str(out /
                       "tenants"), "DAGSTER_HOME": str(out / "dagster_home")})
    (out / "dagster_home").mkdir()
    (out / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.chdir(out)


def compare_days(table: BenchTable, out: Path) -> int:
    """Days whose warehouse count differs from the source's (0 when every day is exact)."""
    import duckdb
    import psycopg

    from bench.table import _conninfo

    with psycopg.connect(_conninfo(table.url)) as conn:
        source = dict(conn.execute(
            f"SELECT event_ts::date, count(*) FROM {TABLE} GROUP BY 1").fetchall())
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        loaded = dict(con.sql(f'SELECT dt, count(*) FROM "{TENANT}"."{TABLE}" GROUP BY 1')
                      .fetchall())
    return sum(1 for day, n in source.items() if loaded.get(day) != n) + abs(
        len(loaded) - len(source))


def child(args: argparse.Namespace) -> int:
    table = BenchTable(url=os.environ[URL_ENV], rows=args.rows, days=args.days)
    started = time.monotonic()
    ok, note = METHODS[args.child](table, Path(args.out), args)
    print(json.dumps({"seconds": time.monotonic() - started, "ok": ok, "note": note}))
    return 0


def run_child(method: str, table: BenchTable, args: argparse.Namespace) -> Run:
    with tempfile.TemporaryDirectory(prefix="etl-backfill-") as out:
        cmd = [sys.executable, "-m", "bench.backfill", "--child", method, "--out", out,
               "--rows", str(table.rows), "--days", str(table.days),
               "--old-days", str(args.old_days)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT,
                                env={**os.environ, URL_ENV: table.url})
        assert proc.stdout is not None
        output = proc.stdout.read().decode()
        _, status, usage = os.wait4(proc.pid, 0)
    results = [x for x in output.splitlines() if x.startswith("{")]
    rss = usage.ru_maxrss / 1024
    if os.waitstatus_to_exitcode(status) != 0 or not results:
        return Run(method, float("nan"), rss, False, "failed (see stderr)")
    data = json.loads(results[-1])
    seconds = data["seconds"] * (table.days / args.old_days if method == "old-way" else 1)
    return Run(method, seconds, rss, data["ok"], data["note"])


# --- Trino ---------------------------------------------------------------------------------


def load_into_trino(table: BenchTable, args: argparse.Namespace) -> dict[str, Any]:
    """Extract the history to S3 once, then load it into Trino in each mode: seconds, statements."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy.engine import make_url

    from etl.config.schedule import BackfillConfig
    from etl.config.tenant_config import PipelineAssetConfig
    from etl.stages.extract import run_extract
    from etl.stages.load import run_load
    from etl.utils.days import day_range
    from etl.warehouse.trino import TrinoWarehouseConfig
    from tests.helpers import source_resource, storage_resource
    from tools.services import postgres, s3, trino

    url = make_url(table.url)
    days = day_range(FIRST_DAY, FIRST_DAY + dt.timedelta(days=table.days - 1))
    out: dict[str, Any] = {}
    with s3.start_s3() as s3_server, postgres.start_postgres() as pg, \
            trino.start_trino(s3_server, pg) as trino_server:
        bucket = s3.create_bucket(s3_server, "bench-history")
        storage = storage_resource(f"s3://{bucket.bucket}/lake",
                                   endpoint_url=bucket.endpoint_url, region=bucket.region,
                                   path_style=True, access_key=bucket.access_key,
                                   secret_key=bucket.secret_key)
        source = source_resource(url._replace(password=None).render_as_string(hide_password=False),
                                 password=str(url.password or ""))
        extract = PipelineAssetConfig(name="history", table=TABLE, date_column="event_ts")
        started = time.monotonic()
        list(run_extract("bench", extract, source, storage, days,
                         days_per_scan=BackfillConfig().days_per_scan))
        out["extract_to_s3_s"] = round(time.monotonic() - started, 2)
        trino.query(trino_server, "CREATE SCHEMA IF NOT EXISTS iceberg.bench WITH ("
                                  f"location = 's3://{bucket.bucket}/warehouse/bench')")
        warehouse = TrinoWarehouseConfig(
            type="trino", host=trino_server.host, port=trino_server.port,
            schema_name="bench").build_resource("bench").warehouse()
        for mode in ("external", "iceberg"):  # the same files: hive.bench.history, iceberg...
            pipeline = extract.model_copy(update={"save_to_trino": True, "load_mode": mode})
            started = time.monotonic()
            loaded = run_load("bench", pipeline, storage, warehouse, days)
            seconds = time.monotonic() - started
            exact = all(c.passed for c in loaded.checks.values())
            out[mode] = {"seconds": round(seconds, 2), "statements": loaded.statements,
                         "days": len(loaded.outcomes), "counts_exact": exact}
    return out


# --- report ----------------------------------------------------------------------------------


def summarize(runs: dict[str, list[Run]], args: argparse.Namespace,
              table: BenchTable) -> dict[str, Any]:
    medians = {m: statistics.median(r.seconds for r in rs) for m, rs in runs.items() if rs}
    summary: dict[str, Any] = {
        "rows": table.rows, "days": table.days, "repeat": args.repeat,
        "methods": {m: {"median_s": round(medians[m], 2),
                        "runs_s": [round(r.seconds, 2) for r in rs],
                        "peak_rss_mib": round(max(r.peak_rss_mib for r in rs), 1),
                        "ok": all(r.ok for r in rs), "note": rs[-1].note}
                    for m, rs in runs.items() if rs},
    }
    if "project" in medians and "duckdb-copy" in medians:
        summary["project_vs_copy"] = round(medians["project"] / medians["duckdb-copy"], 2)
    if "project" in medians and "duckdb-partitioned" in medians:
        summary["project_vs_partitioned"] = round(
            medians["project"] / medians["duckdb-partitioned"], 2)
    if "project" in medians and "project-in-memory" in medians:
        summary["event_storage_s"] = round(medians["project"] - medians["project-in-memory"], 2)
        if "duckdb-copy" in medians:
            summary["in_memory_vs_copy"] = round(
                medians["project-in-memory"] / medians["duckdb-copy"], 2)
    if "project-in-memory" in medians and "project-without-events" in medians:
        summary["event_handling_s"] = round(
            medians["project-in-memory"] - medians["project-without-events"], 2)
        if "duckdb-copy" in medians:
            summary["without_events_vs_copy"] = round(
                medians["project-without-events"] / medians["duckdb-copy"], 2)
    if "project" in medians and "old-way" in medians:
        summary["old_way_vs_project"] = round(medians["old-way"] / medians["project"], 1)
    return summary


def report(summary: dict[str, Any]) -> str:
    header = f"{'method':20} {'median s':>9} {'runs':>24} {'peak RSS MiB':>12}  ok   note"
    lines = ["", header, "-" * len(header)]
    for name, m in summary["methods"].items():
        runs = " ".join(f"{s:.1f}" for s in m["runs_s"])
        lines.append(f"{name:20} {m['median_s']:9.2f} {runs:>24} {m['peak_rss_mib']:12.0f}  "
                     f"{'yes' if m['ok'] else 'NO':4} {m['note']}")
    if "project_vs_copy" in summary:
        lines.append(f"\nproject / single-file COPY: {summary['project_vs_copy']:.2f}x "
                     f"(target <= {TARGET_S:g}x)")
    if "project_vs_partitioned" in summary:
        lines.append(f"project / partitioned COPY: {summary['project_vs_partitioned']:.2f}x "
                     "(target < 1)")
    if "event_storage_s" in summary:
        lines.append(f"storing the run's events in the instance (project - project-in-memory): "
                     f"{summary['event_storage_s']:.1f}s; in-memory run / single-file COPY: "
                     f"{summary.get('in_memory_vs_copy', float('nan')):.2f}x")
    if "event_handling_s" in summary:
        lines.append(f"emitting the per-day events in the run (project-in-memory - "
                     f"project-without-events): {summary['event_handling_s']:.1f}s; run without "
                     f"them / single-file COPY: "
                     f"{summary.get('without_events_vs_copy', float('nan')):.2f}x")
    if "old_way_vs_project" in summary:
        lines.append(f"old way / project: {summary['old_way_vs_project']:g}x")
    project = summary["methods"].get("project")
    if project:
        lines.append(f"project peak RSS: {project['peak_rss_mib']:.0f} MiB "
                     f"(target <= {RSS_TARGET_MIB})")
    return "\n".join(lines)


def trino_report(trino: dict[str, Any]) -> str:
    lines = ["", f"history extracted to S3 in {trino['extract_to_s3_s']}s; Trino loads:"]
    for mode in ("external", "iceberg"):
        t = trino[mode]
        lines.append(f"  {mode:9} {t['seconds']:8.2f}s  {t['statements']} statements  "
                     f"{t['days']} days  counts exact: {t['counts_exact']}")
    return "\n".join(lines)


def line(r: Run) -> str:
    return f"{r.method:20} {r.seconds:8.2f}s  {r.peak_rss_mib:6.0f} MiB  " \
           f"{'ok' if r.ok else 'NOT OK'}  {r.note}"


if __name__ == "__main__":
    sys.exit(main())
