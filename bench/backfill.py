"""History benchmark: a tenant's whole history through ``etl backfill``, beside DuckDB's COPY.

    uv run --locked --exact python -m bench.backfill [--shape events|tpch] [--dsn URL]
                                                     [--rows N] [--days 2000] [--repeat 3]
                                                     [--only METHOD ...] [--trino]

It runs in the project's own environment (``--exact``: the default groups of ``uv.lock``, not
the ``bench`` group). pandas is no dependency of the project; where it is installed, pyarrow's
dataset module imports it into every process (and its memory), so the report says which
methods imported it.

``--shape events`` (default): a PostgreSQL table of ``--rows`` rows (5,000,000) over ``--days``
days, the extraction bench's column mix. ``--shape tpch``: TPC-H's ``lineitem`` (``--rows``,
default 6,000,000, composite primary key) and ``orders`` (a quarter of that) over TPC-H's
2,527 days, loaded daily with their primary keys (three checks a table and day). Both are
generated server-side. Then, in their own processes, round-robin, ``--repeat`` rounds (medians
and the spread reported):

* ``project``: ``etl backfill`` of every day into a local lake (one Parquet file per day,
  replaced atomically) and a DuckDB warehouse, with every day's materializations and check
  results, recorded in the local home (the batching SQLite event log);
* ``project-postgres``: the same recorded in a PostgreSQL instance (the batching PostgreSQL
  event log, a fresh database on the bench's server);
* ``data-path``: the same step's stages without Dagster (no run, no event): extract, day files,
  checks, load, row counts;
* ``duckdb-copy`` / ``duckdb-partitioned``: DuckDB's ``COPY ... TO`` Parquet per table, one file
  or ``PARTITION_BY`` the day (no load, no atomic replace): the floor;
* ``old-way`` (events shape): one ``etl run --day`` process per day for 20 days, extrapolated;
* ``project-serial`` (TPC-H shape, two pipelines): the project with ``source.max_parallel: 1``,
  one pipeline at a time, beside the default that runs them at once;
* ``project-stock`` (only with ``--only``): the project with Dagster's own SQLite event log.

Each time is the method's own work (imports, interpreter start and the check that every day's
warehouse count equals the source's are outside it); peak RSS is the child's when that work
ended (for the project and the data path: before the bench reads the run's events back and
compares every day with the source, which are the bench's, not the project's). For the project
methods it also prints the events stored, the event log's own writing time per event, how far
the printed time left was from the real remainder, and the instance's size. With ``--trino``
the events history is also extracted to S3 and loaded into Trino in both modes. Figures go to
the ``backfill`` (or ``backfill_tpch``) section of ``bench/results.json``.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.history import METHODS, SERVER_ENV, Shape
from bench.results import update
from bench.table import FIRST_DAY, TABLE, ensure_table, server

ROOT = Path(__file__).resolve().parents[1]
URL_ENV = "ETL_BENCH_URL"
DEFAULT = ("project", "project-postgres", "data-path", "duckdb-copy", "duckdb-partitioned")
TARGETS = {"events": 2.0, "tpch": 3.0}  # the project within N x the partitioned COPY
DATA_PATH_TARGET = 1.5  # the data path alone within 1.5 x the partitioned COPY
EVENT_TARGET_MS = 1.0
RSS_TARGET_MIB = 512


@dataclass
class Run:
    method: str
    seconds: float
    peak_rss_mib: float
    ok: bool
    note: str
    extra: dict[str, Any] = field(default_factory=dict)
    pandas: bool = False  # the method's process imported pandas


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.child:
        return child(args)
    with server(args.dsn) as url:
        shape, source = prepare(url, args)
        methods = args.only or [*DEFAULT, *(["old-way"] if args.shape == "events" else
                                            ["project-serial"])]
        runs: dict[str, list[Run]] = {m: [] for m in methods}
        for i in range(args.repeat):
            for method in methods:
                runs[method].append(run_child(method, shape, source, url, args))
                print(f"[{i + 1}/{args.repeat}] {line(runs[method][-1])}", flush=True)
        trino = load_into_trino(source, args) if args.trino else None
    summary = summarize(runs, args, shape)
    print(report(summary))
    if trino is not None:
        summary["trino"] = trino
        print(trino_report(trino))
    section = "backfill" if args.shape == "events" else f"backfill_{args.shape}"
    print(f"wrote {update(section, summary)}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shape", choices=("events", "tpch"), default="events")
    p.add_argument("--dsn", help="SQLAlchemy URL of a PostgreSQL server (default: start one)")
    p.add_argument("--rows", type=int, help="rows of the events table / of lineitem")
    p.add_argument("--days", type=int, default=2000, help="days of the events table")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--only", nargs="*", choices=sorted(METHODS), help="run only these methods")
    p.add_argument("--trino", action="store_true", help="also load the history into Trino")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p


def prepare(url: str, args: argparse.Namespace) -> tuple[Shape, str]:
    """Generate (or reuse) the shape's tables; the shape and the source database's URL."""
    if args.shape == "events":
        table = ensure_table(url, args.rows or 5_000_000, args.days)
        print(f"table: {table.rows:,} rows over {table.days} days")
        return events_shape(table.days), table.url
    import psycopg

    from bench import tpch
    from bench.table import _conninfo, ensure_database

    source = ensure_database(url)
    with psycopg.connect(_conninfo(source), autocommit=True) as conn:
        tpch.ensure_tables(conn, args.rows or 6_000_000)
    return tpch_shape(), source


def events_shape(days: int) -> Shape:
    return Shape("events", ((TABLE, "event_ts", ()),), FIRST_DAY, days,
                 f"    - name: {TABLE}\n      table: {TABLE}\n      date_column: event_ts\n"
                 "      save_to_trino: true\n")


def tpch_shape() -> Shape:
    from bench import tpch

    return Shape("tpch", tuple((t.name, t.date_column, t.primary_key) for t in tpch.TABLES),
                 tpch.FIRST_DAY, tpch.DAYS, tpch.pipelines_yaml())


# --- children --------------------------------------------------------------------------------

def child(args: argparse.Namespace) -> int:
    shape = events_shape(args.days) if args.shape == "events" else tpch_shape()
    done = METHODS[args.child](shape, os.environ[URL_ENV], Path(args.out))
    print(json.dumps({"seconds": done.seconds, "ok": done.ok, "note": done.note,
                      "extra": done.extra, "peak_rss_mib": done.peak_rss_mib,
                      "pandas": "pandas" in sys.modules}))
    return 0


def run_child(method: str, shape: Shape, source: str, server_url: str,
              args: argparse.Namespace) -> Run:
    with tempfile.TemporaryDirectory(prefix="etl-backfill-") as out:
        cmd = [sys.executable, "-m", "bench.backfill", "--child", method, "--out", out,
               "--shape", args.shape, "--days", str(shape.days)]
        env = {**os.environ, URL_ENV: source, SERVER_ENV: server_url,
               "ARROW_DEFAULT_MEMORY_POOL": "jemalloc"}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT, env=env)
        assert proc.stdout is not None
        output = proc.stdout.read().decode()
        _, status, usage = os.wait4(proc.pid, 0)
    results = [x for x in output.splitlines() if x.startswith("{")]
    rss = usage.ru_maxrss / 1024
    if os.waitstatus_to_exitcode(status) != 0 or not results:
        return Run(method, float("nan"), rss, False, "failed (see stderr)")
    data = json.loads(results[-1])
    rss = data.get("peak_rss_mib") or rss  # when the work ended, if the method says
    return Run(method, data["seconds"], rss, data["ok"], data["note"], data["extra"],
               data.get("pandas", False))


# --- report ----------------------------------------------------------------------------------

def summarize(runs: dict[str, list[Run]], args: argparse.Namespace,
              shape: Shape) -> dict[str, Any]:
    medians = {m: statistics.median(r.seconds for r in rs) for m, rs in runs.items() if rs}
    summary: dict[str, Any] = {
        "shape": shape.name, "tables": [t for t, _, _ in shape.tables], "rows": args.rows,
        "days": shape.days, "repeat": args.repeat, "cpus": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "date": dt.date.today().isoformat(),
        "pandas_imported": sorted({r.method for rs in runs.values() for r in rs if r.pandas}),
        "methods": {m: {"median_s": round(medians[m], 2),
                        "runs_s": [round(r.seconds, 2) for r in rs],
                        "peak_rss_mib": round(max(r.peak_rss_mib for r in rs), 1),
                        "ok": all(r.ok for r in rs), "note": rs[-1].note,
                        **_events(rs)}
                    for m, rs in runs.items() if rs},
    }
    floor = medians.get("duckdb-partitioned")
    for method in ("project", "project-postgres", "project-serial", "data-path",
                   "project-stock", "old-way"):
        if method in medians and floor:
            summary.setdefault("vs_partitioned", {})[method] = round(medians[method] / floor, 2)
    if "project-serial" in medians and "project" in medians:
        summary["parallel_vs_serial"] = round(medians["project"] / medians["project-serial"], 2)
    if "duckdb-copy" in medians:
        for method in ("project", "project-postgres", "data-path"):
            if method in medians:
                summary.setdefault("vs_single_file", {})[method] = round(
                    medians[method] / medians["duckdb-copy"], 2)
    return summary


def _events(rs: list[Run]) -> dict[str, Any]:
    """The median events stored and the event log's own time per event, with the spread."""
    if not rs or "events" not in rs[0].extra:
        return {}
    per_event = [r.extra["storage_s"] * 1000 / max(1, r.extra["stored_events"]) for r in rs]
    return {"events": rs[-1].extra["events"],
            "storage_ms_per_event": round(statistics.median(per_event), 3),
            "storage_ms_per_event_runs": [round(x, 3) for x in per_event],
            "storage_s_runs": [r.extra["storage_s"] for r in rs],
            "eta_ratio_runs": [r.extra["eta"] for r in rs],
            "home_mib": rs[-1].extra.get("home_mib"),
            "instance_mib": rs[-1].extra.get("instance_mib")}


def report(summary: dict[str, Any]) -> str:
    header = f"{'method':20} {'median s':>9} {'runs s':>22} {'peak RSS MiB':>12}  ok   note"
    lines = ["", f"{summary['shape']} shape, {summary['days']} days; load average "
             f"{summary['load_average']} on {summary['cpus']} CPUs", header, "-" * len(header)]
    for name, m in summary["methods"].items():
        runs = " ".join(f"{s:.1f}" for s in m["runs_s"])
        lines.append(f"{name:20} {m['median_s']:9.2f} {runs:>22} {m['peak_rss_mib']:12.0f}  "
                     f"{'yes' if m['ok'] else 'NO':4} {m['note']}")
    with_pandas = summary.get("pandas_imported")
    lines.append("pandas imported by: " + (", ".join(with_pandas) if with_pandas else
                                           "no method (peak RSS without it)"))
    target = TARGETS[summary["shape"]]
    for method, ratio in summary.get("vs_partitioned", {}).items():
        goal = {"project": target, "project-postgres": target,
                "data-path": DATA_PATH_TARGET}.get(method)
        lines.append(f"{method} / partitioned COPY: {ratio:.2f}x"
                     + (f" (target <= {goal:g}x)" if goal else ""))
    if "parallel_vs_serial" in summary:
        serial = summary["methods"]["project-serial"]
        lines.append(f"project (max_parallel default) / project-serial (max_parallel 1): "
                     f"{summary['parallel_vs_serial']:.2f}x (target <= 1); peak RSS "
                     f"{summary['methods']['project']['peak_rss_mib']:.0f} vs "
                     f"{serial['peak_rss_mib']:.0f} MiB")
    for name, m in summary["methods"].items():
        if "events" not in m:
            continue
        share = ""
        data = summary["methods"].get("data-path")
        if data:
            share = (f"; the run minus the data path: {m['median_s'] - data['median_s']:.1f}s, "
                     f"{(m['median_s'] - data['median_s']) * 1000 / m['events']:.2f} ms per event")
        lines.append(f"{name}: {m['events']:,} events; the event log's own writes "
                     f"{m['storage_ms_per_event']:.3f} ms per event stored (runs "
                     f"{', '.join(f'{x:.3f}' for x in m['storage_ms_per_event_runs'])}; target "
                     f"<= {EVENT_TARGET_MS:g}){share}")
        etas = [e for e in m["eta_ratio_runs"] if e and e.get("lines")]
        if etas:
            lines.append(f"  time left printed / real remainder after 10% of the days: "
                         f"{min(e['min'] for e in etas):.2f}..{max(e['max'] for e in etas):.2f} "
                         "(target 0.5..2)")
        size = m.get("instance_mib") or m.get("home_mib")
        lines.append(f"  instance after the run: {size} MiB; peak RSS "
                     f"{m['peak_rss_mib']:.0f} MiB (target <= {RSS_TARGET_MIB})")
    return "\n".join(lines)


def line(r: Run) -> str:
    return f"{r.method:20} {r.seconds:8.2f}s  {r.peak_rss_mib:6.0f} MiB  " \
           f"{'ok' if r.ok else 'NOT OK'}  {r.note}"


# --- Trino ---------------------------------------------------------------------------------

def load_into_trino(source: str, args: argparse.Namespace) -> dict[str, Any]:
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

    url = make_url(source)
    days = day_range(FIRST_DAY, FIRST_DAY + dt.timedelta(days=args.days - 1))
    out: dict[str, Any] = {}
    with s3.start_s3() as s3_server, postgres.start_postgres() as pg, \
            trino.start_trino(s3_server, pg) as trino_server:
        bucket = s3.create_bucket(s3_server, "bench-history")
        storage = storage_resource(f"s3://{bucket.bucket}/lake",
                                   endpoint_url=bucket.endpoint_url, region=bucket.region,
                                   path_style=True, access_key=bucket.access_key,
                                   secret_key=bucket.secret_key)
        src = source_resource(url._replace(password=None).render_as_string(hide_password=False),
                              password=str(url.password or ""))
        extract = PipelineAssetConfig(name="history", table=TABLE, date_column="event_ts")
        started = time.monotonic()
        list(run_extract("bench", extract, src, storage, days,
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


def trino_report(trino: dict[str, Any]) -> str:
    lines = ["", f"history extracted to S3 in {trino['extract_to_s3_s']}s; Trino loads:"]
    for mode in ("external", "iceberg"):
        t = trino[mode]
        lines.append(f"  {mode:9} {t['seconds']:8.2f}s  {t['statements']} statements  "
                     f"{t['days']} days  counts exact: {t['counts_exact']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
