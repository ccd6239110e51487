"""A fleet's day: 100 tenants x 30 pipelines, one day each, run by a deployment's schedules.

    python -m bench.fleet_day [--tenants 100] [--pipelines 30] [--rows 20] [--dsn URL]

The tenants have the definitions-scale bench's shape (``bench/defs_scale.py``: 30 pipelines,
one in ten master data, a primary key and a transfer each) on small tables: each tenant's own
SQLite database with ``--rows`` rows a day in every table, its own lake folder and DuckDB file.
Their daily schedules tick every minute; ``etl deploy up --single-location`` (one code server
for every tenant, the daemon, a PostgreSQL instance on a server started through
``tools/services`` unless ``--dsn`` names one) runs them as it would every night: at the first
tick after it is up each schedule submits its tenant's run for the last complete day and the
run queue starts them (``max_concurrent_runs``, default 10). Dagster dedupes a schedule's
``run_key`` only within one tick (the tick's time is part of the key), so every later tick
would queue the day again: the bench stops each schedule as soon as its first run is queued
(its stored state set to STOPPED, as the UI's toggle does); a run a later tick queued first is
a repeat: cancelled while queued, never counted. The bench waits until every run has ended and
prints the wall time from the first run queued to the last one done, runs per minute, the
events stored, how much the instance's database grew, and the run durations (start to end;
p50, p95, max), with the queue wait. Targets on this 2-core machine: the fleet within 10
minutes, p95 within 3x p50. Figures go to the ``fleet_day`` section of ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa

from bench.results import update

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.defs_scale import MASTER_EVERY, PIPELINE  # noqa: E402
from bench.deploy_runs import Deployment, instance_server  # noqa: E402

WALL_TARGET_S = 600.0
SCHEDULE_TAG = "dagster/schedule_name"
STOPPED: set[str | None] = set()  # the schedules stopped after their first tick
REPEATS: set[str] = set()  # runs a schedule queued again at a later tick
CANCELLED: set[str] = set()
P95_TARGET = 3.0
YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)

CONFIG = """\
tenant: {{id: {tenant}, name: Fleet tenant {tenant}}}
source: {{url: "sqlite:///{root}/sources/{tenant}.db"}}
storage: {{root: {root}/lake/{tenant}}}
warehouse: {{type: duckdb, path: {root}/warehouses/{tenant}.duckdb}}
schedule: {{cron: "* * * * *", timezone: UTC, start_date: {start}, enabled: true}}
assets:
  pipelines:
    - {{name: work_order, enabled: false}}
    - {{name: production_result, enabled: false}}
    - {{name: quality_inspection, enabled: false}}
{pipelines}"""

def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="etl-fleet-") as tmp, \
            instance_server(args.dsn) as pg:
        root = Path(tmp)
        write_fleet(root, args.tenants, args.pipelines, args.rows)
        started = time.monotonic()
        deployment = Deployment.start(root, "etl.all", pg, None)
        print(f"deployment up in {time.monotonic() - started:.0f}s", flush=True)
        try:
            before = database_mib(pg, deployment)
            runs = wait_for_fleet(deployment.instance, args.tenants, args.timeout)
            steps = step_seconds(deployment.instance, runs)
            after = database_mib(pg, deployment)
            events = stored_events(pg, deployment)
        finally:
            deployment.stop()
    summary = summarize(runs, args, events, after - before, steps)
    print(report(summary))
    print(f"wrote {update('fleet_day', summary)}")
    return 0 if summary["ok"] else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tenants", type=int, default=100)
    p.add_argument("--pipelines", type=int, default=30)
    p.add_argument("--rows", type=int, default=20, help="rows a day in every table")
    p.add_argument("--timeout", type=float, default=3600, help="give up after (seconds)")
    p.add_argument("--dsn", help="postgresql://user:password@host:port of a server to use")
    return p


def write_fleet(root: Path, tenants: int, pipelines: int, rows: int) -> None:
    """The tenants' folders and their SQLite sources (yesterday's rows and a day before)."""
    (root / "sources").mkdir()
    start = YESTERDAY - dt.timedelta(days=30)
    for t in range(tenants):
        tenant = f"site_{t:04d}"
        body = "".join(PIPELINE.format(i=i, date="" if i % MASTER_EVERY == 0
                                       else "date_column: updated_at")
                       for i in range(pipelines))
        folder = root / "tenants" / tenant
        folder.mkdir(parents=True)
        (folder / "config.yaml").write_text(CONFIG.format(tenant=tenant, root=root,
                                                          start=start, pipelines=body))
        seed(root / "sources" / f"{tenant}.db", pipelines, rows)


def seed(path: Path, pipelines: int, rows: int) -> None:
    with sqlite3.connect(path) as conn:
        for i in range(pipelines):
            conn.execute(f"CREATE TABLE table_{i:03d} (id INTEGER PRIMARY KEY, "
                         "updated_at TIMESTAMP NOT NULL, name TEXT, qty INTEGER, amount REAL)")
            values = [(n, f"{day}T{n % 24:02d}:{n % 60:02d}:00", f"item-{n}", n % 7, n * 1.5)
                      for d, day in enumerate((YESTERDAY - dt.timedelta(days=1), YESTERDAY))
                      for n in range(d * rows, (d + 1) * rows)]
            conn.executemany(f"INSERT INTO table_{i:03d} VALUES (?, ?, ?, ?, ?)", values)


def wait_for_fleet(instance: dg.DagsterInstance, tenants: int,
                   timeout: float) -> list[dg.RunRecord]:
    """Every tenant's scheduled run once all have ended, or those that ended by ``timeout``
    (the summary then says how many did not)."""
    from dagster._core.storage.dagster_run import RunsFilter

    deadline = time.monotonic() + timeout
    filters = RunsFilter(tags={"dagster/partition": YESTERDAY.isoformat()})
    last = -1
    while True:
        records = first_runs(list(instance.get_run_records(filters=filters)))
        stop_ticked_schedules(instance, records)
        cancel_queued_repeats(instance)
        done = [r for r in records if r.dagster_run.is_finished]
        if len(done) != last:
            print(f"{time.strftime('%H:%M:%S')} {len(records)} run(s) queued, {len(done)} done",
                  flush=True)
            last = len(done)
        if len(done) >= tenants:
            return records
        if time.monotonic() > deadline:
            print(f"timed out: {len(done)} of {tenants} runs ended in {timeout:.0f}s", flush=True)
            return done
        time.sleep(2)


def first_runs(records: list[dg.RunRecord]) -> list[dg.RunRecord]:
    """Each schedule's first run (the others, from a later tick, are repeats of its day)."""
    first: dict[str, dg.RunRecord] = {}
    for record in sorted(records, key=lambda r: r.create_timestamp):
        first.setdefault(record.dagster_run.tags.get(SCHEDULE_TAG, record.dagster_run.run_id),
                         record)
    kept = {f.dagster_run.run_id for f in first.values()}
    REPEATS.update(r.dagster_run.run_id for r in records if r.dagster_run.run_id not in kept)
    return list(first.values())


def stop_ticked_schedules(instance: dg.DagsterInstance, records: list[dg.RunRecord]) -> None:
    """Stop each schedule that has queued its run: later ticks would queue the day again."""
    from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType

    ticked = {r.dagster_run.tags.get(SCHEDULE_TAG) for r in records} - STOPPED
    if not ticked:
        return
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE):
        if state.instigator_name in ticked and state.status != InstigatorStatus.STOPPED:
            instance.update_instigator_state(state.with_status(InstigatorStatus.STOPPED))
            STOPPED.add(state.instigator_name)


def cancel_queued_repeats(instance: dg.DagsterInstance) -> None:
    for run_id in REPEATS - CANCELLED:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status == dg.DagsterRunStatus.QUEUED:
            instance.run_coordinator.cancel_run(run_id)
        CANCELLED.add(run_id)


def step_seconds(instance: dg.DagsterInstance, runs: list[dg.RunRecord]) -> list[float]:
    """Each run's step, from its start to its success or failure (the rest of a run's time is
    the run worker starting, loading the tenant and recording the run's end)."""
    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
             dg.DagsterEventType.STEP_FAILURE}
    out = []
    for run in runs:
        times = {r.event_log_entry.dagster_event_type: r.event_log_entry.timestamp
                 for r in instance.get_records_for_run(run.dagster_run.run_id,
                                                       of_type=kinds).records}
        start = times.get(dg.DagsterEventType.STEP_START)
        end = times.get(dg.DagsterEventType.STEP_SUCCESS) or times.get(
            dg.DagsterEventType.STEP_FAILURE)
        if start is not None and end is not None:
            out.append(end - start)
    return out


def database_mib(pg: dict[str, str], deployment: Deployment) -> float:
    database = deployment.env["DAGSTER_PG_DB"]
    with sa.create_engine(pg["_ADMIN"]).connect() as conn:
        size = conn.execute(sa.text("SELECT pg_database_size(:d)"), {"d": database}).scalar()
    return int(size or 0) / 2**20


def stored_events(pg: dict[str, str], deployment: Deployment) -> int:
    url = sa.make_url(pg["_ADMIN"]).set(database=deployment.env["DAGSTER_PG_DB"])
    with sa.create_engine(url).connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM event_logs")).scalar() or 0)


def summarize(runs: list[dg.RunRecord], args: argparse.Namespace, events: int,
              growth_mib: float, steps: list[float]) -> dict[str, Any]:
    runs = [r for r in runs if r.dagster_run.is_finished]
    queued = min(r.create_timestamp.timestamp() for r in runs)
    ended = max(r.end_time or 0.0 for r in runs)
    # A run failed before its worker started has no start time: it counts as failed only.
    started = [r for r in runs if r.start_time is not None and r.end_time is not None]
    durations = sorted((r.end_time or 0.0) - (r.start_time or 0.0) for r in started)
    waits = sorted((r.start_time or 0.0) - r.create_timestamp.timestamp() for r in started)
    failed = [r.dagster_run.run_id for r in runs
              if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS]
    wall = ended - queued
    p50, p95 = _percentile(durations, 50), _percentile(durations, 95)
    return {
        "tenants": args.tenants, "pipelines": args.pipelines, "rows_a_day": args.rows,
        "cpus": os.cpu_count(), "load_average": [round(x, 1) for x in os.getloadavg()],
        "date": dt.date.today().isoformat(), "runs": len(runs), "failed": failed,
        "repeats_not_counted": len(REPEATS),
        "wall_s": round(wall, 1), "runs_per_min": round(len(runs) / wall * 60, 1),
        "events": events, "events_per_run": round(events / max(1, len(runs))),
        "database_growth_mib": round(growth_mib, 1),
        "run_s": {"p50": round(p50, 2), "p95": round(p95, 2), "max": round(durations[-1], 2),
                  "min": round(durations[0], 2), "mean": round(statistics.mean(durations), 2)},
        "queue_wait_s": {"p50": round(_percentile(waits, 50), 1),
                         "p95": round(_percentile(waits, 95), 1)},
        "step_s": {"p50": round(_percentile(steps, 50), 2) if steps else None,
                   "p95": round(_percentile(steps, 95), 2) if steps else None},
        "ok": (len(runs) >= args.tenants and not failed and wall <= WALL_TARGET_S
               and p95 <= P95_TARGET * p50),
    }


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(s: dict[str, Any]) -> str:
    r = s["run_s"]
    return "\n".join([
        f"{s['runs']} runs ({s['tenants']} tenants x {s['pipelines']} pipelines, one day each, "
        f"{len(s['failed'])} failed; {s['tenants'] - s['runs']} not ended) on {s['cpus']} "
        f"CPUs, load average {s['load_average']}; {s['repeats_not_counted']} repeat(s) of a "
        "day from a later tick before its schedule was stopped, not counted",
        f"wall time from the first run queued to the last done: {s['wall_s']:.0f}s "
        f"(target <= {WALL_TARGET_S:.0f}s), {s['runs_per_min']} runs/min",
        f"events stored: {s['events']:,} ({s['events_per_run']} a run); the instance's "
        f"database grew {s['database_growth_mib']} MiB",
        f"run duration start to end: p50 {r['p50']:.1f}s, p95 {r['p95']:.1f}s "
        f"({r['p95'] / r['p50']:.2f}x p50, target <= {P95_TARGET:g}x), max {r['max']:.1f}s; "
        f"queue wait p50 {s['queue_wait_s']['p50']}s, p95 {s['queue_wait_s']['p95']}s",
        f"of a run, its step (every pipeline's stages): p50 {s['step_s']['p50']}s, "
        f"p95 {s['step_s']['p95']}s; the rest is the run worker starting, loading the tenant "
        "and recording the run",
    ])


if __name__ == "__main__":
    raise SystemExit(main())
