"""Reconcile benchmark: what checking the history against the source costs, what a heal costs,
and an incremental run of a large mutable table.

    .venv/bin/python -m bench.reconcile [--dsn URL] [--rows 5000000] [--days 2000]
                                        [--repeat 3] [--drifted 20]

On the history bench's PostgreSQL table (``bench.table``: ``--rows`` rows over ``--days`` days)
and a master table of as many rows (``bench_items``, an index on ``updated_at``), each round
runs every method once, in this order, and the report gives medians and ranges:

* ``fingerprint``: the fingerprint of every day of the history at the source, key and
  ``change_column`` (``id``, ``event_tstz``), as a reconcile takes it (one grouped query for
  the whole window); ``fingerprint-all``: of every column;
* ``count``: a plain ``SELECT count(*)`` of the table (the floor of any full scan);
* ``duckdb-copy``: DuckDB's ``COPY (SELECT ...) TO 'one.parquet'`` of the table;
* ``reconcile``: ``etl reconcile`` of the whole history after ``--drifted`` scattered days were
  changed at the source; ``heal``: the heal run of those days (``etl reconcile --heal``);
  ``backfill-20``: ``etl backfill`` of as many consecutive days, for comparison;
* ``incremental``: a run of an incremental pipeline after 1 % of ``bench_items`` changed
  (0.8 % updated, 0.2 % deleted and as many inserted; deletes found by its key read, merged
  into DuckDB); ``incremental-no-keys``: the same changes for a pipeline whose key read is due
  every 1,000 runs (this run reads none); ``full-copy``: a run of the same table as full-copy
  master data.

Runs are timed as ``etl`` makes them, created (Dagster plans its events) and executed in this
process; the command's start (imports, loading the tenant's definitions) is left out of every
method alike.

The runs are recorded in a local ``DAGSTER_HOME`` (SQLite) in a temporary folder, as
``etl`` records them. Figures go to the ``reconcile`` section of ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bench.results import update
from bench.table import FIRST_DAY, TABLE, BenchTable, _conninfo, ensure_table, server

ROOT = Path(__file__).resolve().parents[1]
ITEMS = "bench_items"
HISTORY, FULL, INCREMENTAL = "bench_history", "bench_full", "bench_incremental"
LAZY = "bench_lazy"  # the same incremental pipeline, its key read every 1,000 runs
TARGETS = {"fingerprint / duckdb-copy": 0.5, "incremental / full-copy": 0.10}
HEAL_SLACK_S = 2.0


def password_env(tenant: str) -> str:
    """The tenant's password variable: a tenant names only variables with its own prefix."""
    return f"{tenant.upper()}_DB_PASSWORD"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    sys.path.insert(0, str(ROOT))
    with server(args.dsn) as url, tempfile.TemporaryDirectory(prefix="etl-reconcile-") as out:
        table = ensure_table(url, args.rows, args.days)
        items_table(table, args.rows)
        bench = Bench(table, Path(out), args)
        print(f"history: {table.rows:,} rows over {table.days} days; {ITEMS}: {args.rows:,} rows")
        bench.prepare()
        times: dict[str, list[float]] = {}
        for i in range(args.repeat):
            for name, method in bench.methods().items():
                seconds = method()
                times.setdefault(name, []).append(seconds)
                print(f"[{i + 1}/{args.repeat}] {name:20} {seconds:8.2f}s", flush=True)
    summary = summarize(times, args, table)
    print(report(summary))
    print(f"wrote {update('reconcile', summary)}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dsn", help="SQLAlchemy URL of a PostgreSQL server (default: start one)")
    p.add_argument("--rows", type=int, default=5_000_000)
    p.add_argument("--days", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--drifted", type=int, default=20, help="days changed before each reconcile")
    return p


class Bench:
    """Three tenants on the bench database in one folder, and the methods that use them."""

    def __init__(self, table: BenchTable, out: Path, args: argparse.Namespace) -> None:
        self.table, self.out, self.args = table, out, args
        self.round = 0
        self.jobs: dict[str, Any] = {}
        self.found: tuple[str, Any] = ("", None)
        self.last = FIRST_DAY + dt.timedelta(days=table.days - 1)

    def methods(self) -> dict[str, Callable[[], float]]:
        return {"fingerprint": lambda: self.fingerprint(("id", "event_tstz")),
                "fingerprint-all": lambda: self.fingerprint(None),
                "count": self.count, "duckdb-copy": self.copy,
                "reconcile": self.reconcile, "heal": self.heal,
                "backfill-20": self.backfill, "incremental": self.incremental,
                "incremental-no-keys": self.incremental_lazy, "full-copy": self.full_copy}

    # --- set-up ------------------------------------------------------------------------

    def prepare(self) -> None:
        from sqlalchemy.engine import make_url

        url = make_url(self.table.url)
        plain = url._replace(password=None).render_as_string(hide_password=False)
        for tenant, pipeline in ((HISTORY, f"""\
    - {{name: {TABLE}, table: {TABLE}, date_column: event_ts, primary_key: [id],
       change_column: event_tstz, save_to_trino: true}}
"""), (FULL, f"    - {{name: items, table: {ITEMS}, primary_key: [id], save_to_trino: true}}\n"),
                (INCREMENTAL, f"""\
    - {{name: items, table: {ITEMS}, primary_key: [id], save_to_trino: true,
       mode: incremental, cursor_column: updated_at, deletes: {{mode: hard}}}}
"""), (LAZY, f"""\
    - {{name: items, table: {ITEMS}, primary_key: [id], save_to_trino: true,
       mode: incremental, cursor_column: updated_at,
       deletes: {{mode: hard, every_runs: 1000}}}}
""")):
            folder = self.out / "tenants" / tenant
            folder.mkdir(parents=True)
            (folder / "config.yaml").write_text(
                f"tenant: {{id: {tenant}, name: Reconcile bench}}\n"
                f"source: {{url: '{plain}', password_env: {password_env(tenant)}}}\n"
                f"storage: {{root: {self.out}/lake}}\n"
                f"warehouse: {{type: duckdb, path: {self.out}/{tenant}.duckdb}}\n"
                f"schedule: {{start_date: {FIRST_DAY.isoformat()}, timezone: UTC}}\n"
                f"reconcile: {{max_days_per_heal: {max(31, self.args.drifted)}}}\n"
                f"assets:\n  inherit: none\n  pipelines:\n{pipeline}")
        os.environ.update({password_env(t): str(url.password or "")
                           for t in (HISTORY, FULL, INCREMENTAL, LAZY)})
        os.environ.update({"ETL_TENANTS_DIR": str(self.out / "tenants"),
                           "DAGSTER_HOME": str(self.out / "dagster_home")})
        (self.out / "dagster_home").mkdir()
        (self.out / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        os.chdir(self.out)
        started = time.monotonic()
        self.etl("backfill", HISTORY, "--from", FIRST_DAY.isoformat(), "--to",
                 self.last.isoformat())
        for tenant in (INCREMENTAL, LAZY):  # their first runs read the whole table
            self.etl("run", tenant, "master_sync_job")
        print(f"history loaded and {ITEMS} copied in {time.monotonic() - started:.1f}s")

    def etl(self, *args: str) -> str:
        from etl.cli.main import main as etl

        err = io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = err
        try:
            code = etl(list(args))
        finally:
            sys.stdout, sys.stderr = saved
        if code not in (0, 1) or (code == 1 and args[0] != "reconcile"):
            raise RuntimeError(f"etl {' '.join(args)} exited {code}:\n{err.getvalue()[-2000:]}")
        return err.getvalue()

    # --- the methods --------------------------------------------------------------------

    def fingerprint(self, columns: tuple[str, ...] | None) -> float:
        from sqlalchemy.engine import make_url

        from etl.config.tenant_config import PipelineAssetConfig
        from etl.stages.extract import extract_request
        from etl.utils.days import day_range
        from tests.helpers import source_resource

        url = make_url(self.table.url)
        source = source_resource(url._replace(password=None).render_as_string(
            hide_password=False), password=str(url.password or ""))
        pipeline = PipelineAssetConfig(
            name="h", table=TABLE, date_column="event_ts", primary_key=("id",),
            change_column=columns[1] if columns else None)
        days = day_range(FIRST_DAY, self.last)
        started = time.monotonic()
        # One grouped query for the whole history, as a reconcile reads
        # (etl/stages/reconcile.py: compare_with_source).
        found = source.fingerprints(extract_request(pipeline, source, days))
        seconds = time.monotonic() - started
        assert sum(f.rows for f in found.values()) == self.table.rows
        return seconds

    def count(self) -> float:
        started = time.monotonic()
        with psycopg.connect(_conninfo(self.table.url)) as conn:
            row = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
        assert row is not None and row[0] == self.table.rows
        return time.monotonic() - started

    def copy(self) -> float:
        from bench.methods import attached_duckdb

        target = self.out / "copy.parquet"
        started = time.monotonic()
        con = attached_duckdb(self.table)
        con.execute(f"COPY (SELECT * FROM src.public.{TABLE}) TO '{target}' "
                    "(FORMAT parquet, COMPRESSION zstd)")
        con.close()
        seconds = time.monotonic() - started
        target.unlink()
        return seconds

    def drifted_days(self) -> list[str]:
        step = self.table.days // self.args.drifted
        return [(FIRST_DAY + dt.timedelta(days=i * step + self.round % step)).isoformat()
                for i in range(self.args.drifted)]

    def timed_run(self, tenant: str, request: Any) -> float:
        """Wall time of one run made here (created, then executed), as ``etl`` runs it."""
        from etl.runs.console import execute
        from etl.runs.home import instance
        from etl.runs.plan import TenantJobs

        jobs = self.jobs.setdefault(tenant, TenantJobs.load(tenant))
        with instance() as inst:
            started = time.monotonic()
            ok = execute(inst, jobs, request(jobs), io.StringIO())
            seconds = time.monotonic() - started
        assert ok, f"the run of {tenant} failed"
        return seconds

    def reconcile(self) -> float:
        """Change one row of each of ``--drifted`` days, then reconcile the whole history."""
        from etl.runs.home import instance
        from etl.runs.plan import TenantJobs
        from etl.runs.reconcile import reconcile
        from etl.utils.days import day_range

        self.round += 1
        days = self.drifted_days()
        with psycopg.connect(_conninfo(self.table.url)) as conn:
            for day in days:
                conn.execute(f"UPDATE {TABLE} SET amount = amount + 1, event_tstz = event_tstz "
                             f"+ interval '1 second' WHERE id = (SELECT min(id) FROM {TABLE} "
                             "WHERE event_ts >= %s::date AND event_ts < %s::date + 1)",
                             (day, day))
        jobs = self.jobs.setdefault(HISTORY, TenantJobs.load(HISTORY))
        with instance() as inst:
            started = time.monotonic()
            self.found = reconcile(inst, jobs, day_range(FIRST_DAY, self.last), [TABLE],
                                   io.StringIO())
            seconds = time.monotonic() - started
        found = self.found[1]
        assert found is not None and {f.day for f in found if f.status != "equal"} == set(days)
        return seconds

    def heal(self) -> float:
        """The heal of the drifted days (one run, created and executed), as ``--heal`` runs it."""
        from etl.runs.home import instance
        from etl.runs.reconcile import heal

        run_id, found = self.found
        assert found is not None
        with instance() as inst:
            started = time.monotonic()
            plan, ok = heal(inst, self.jobs[HISTORY], found, run_id, io.StringIO())
            seconds = time.monotonic() - started
        assert ok and len(plan.days) == self.args.drifted
        return seconds

    def backfill(self) -> float:
        """``etl backfill`` of as many consecutive days (one run, created and executed)."""
        from etl.runs.plan import plan_backfill

        first = FIRST_DAY + dt.timedelta(days=self.round * 40 % (self.table.days - 40))
        last = first + dt.timedelta(days=self.args.drifted - 1)
        return self.timed_run(HISTORY, lambda jobs: plan_backfill(jobs, first, last)[0])

    def incremental(self) -> float:
        from etl.runs.plan import plan_run

        change_items(self.table, self.args.rows, self.round)
        seconds = self.timed_run(INCREMENTAL, lambda jobs: plan_run(jobs, "master_sync_job",
                                                                     None))
        assert items_equal(self.table, self.out / f"{INCREMENTAL}.duckdb", INCREMENTAL)
        return seconds

    def incremental_lazy(self) -> float:
        """The same changes, a run that reads no keys (deletes wait for every_runs)."""
        from etl.runs.plan import plan_run

        return self.timed_run(LAZY, lambda jobs: plan_run(jobs, "master_sync_job", None))

    def full_copy(self) -> float:
        from etl.runs.plan import plan_run

        return self.timed_run(FULL, lambda jobs: plan_run(jobs, "master_sync_job", None))


def items_table(table: BenchTable, rows: int) -> None:
    """``bench_items``: ``rows`` rows with an ``updated_at`` index (made once per server)."""
    with psycopg.connect(_conninfo(table.url), autocommit=True) as conn:
        marker = f"rows={rows}"
        row = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')",
                           (ITEMS,)).fetchone()
        if row is not None and row[0] == marker:
            return
        conn.execute(f"DROP TABLE IF EXISTS {ITEMS}")
        conn.execute(f"CREATE TABLE {ITEMS} (id bigint PRIMARY KEY, code text NOT NULL, "
                     "qty integer, price numeric(12, 2), note text, "
                     "updated_at timestamp(6) NOT NULL)")
        conn.execute(f"INSERT INTO {ITEMS} SELECT g, 'item-' || g, g % 1000, (g % 99999) / 100.0,"
                     " md5(g::text), timestamp '2025-01-01' + g * interval '1 millisecond' "
                     f"FROM generate_series(1, {rows}) g")
        conn.execute(f"CREATE INDEX ON {ITEMS} (updated_at)")
        conn.execute(f"VACUUM ANALYZE {ITEMS}")
        conn.execute(f"COMMENT ON TABLE {ITEMS} IS '{marker}'")


def change_items(table: BenchTable, rows: int, round_: int) -> None:
    """1 % of the rows: 0.8 % updated (one cursor value each round), 0.2 % deleted and as many
    inserted (new keys), so the table keeps its size."""
    updated, deleted = rows * 8 // 1000, rows * 2 // 1000
    with psycopg.connect(_conninfo(table.url), autocommit=True) as conn:
        conn.execute(f"UPDATE {ITEMS} SET qty = qty + 1, updated_at = now() WHERE id IN ("
                     f"SELECT id FROM {ITEMS} TABLESAMPLE BERNOULLI (0.8) REPEATABLE ({round_}) "
                     f"LIMIT {updated})")
        conn.execute(f"DELETE FROM {ITEMS} WHERE id IN (SELECT id FROM {ITEMS} TABLESAMPLE "
                     f"BERNOULLI (0.2) REPEATABLE ({round_ + 100}) LIMIT {deleted})")
        conn.execute(f"INSERT INTO {ITEMS} SELECT g, 'item-' || g, 1, 1, 'new', now() FROM "
                     f"generate_series((SELECT max(id) + 1 FROM {ITEMS}), "
                     f"(SELECT max(id) FROM {ITEMS}) + {deleted}) g")


def items_equal(table: BenchTable, warehouse: Path, tenant: str) -> bool:
    import duckdb

    with psycopg.connect(_conninfo(table.url)) as conn:
        source = conn.execute(f"SELECT count(*), sum(qty), sum(id) FROM {ITEMS}").fetchone()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = con.execute(f'SELECT count(*), sum(qty), sum(id) FROM "{tenant}"."{tenant}".items'
                             ).fetchone()
    return tuple(map(int, source or ())) == tuple(map(int, loaded or ()))


def summarize(times: dict[str, list[float]], args: argparse.Namespace,
              table: BenchTable) -> dict[str, Any]:
    medians = {m: statistics.median(t) for m, t in times.items()}
    return {
        "rows": table.rows, "days": table.days, "repeat": args.repeat,
        "drifted_days": args.drifted,
        "methods": {m: {"median_s": round(medians[m], 2), "runs_s": [round(x, 2) for x in t],
                        "min_s": round(min(t), 2), "max_s": round(max(t), 2)}
                    for m, t in times.items()},
        "fingerprint_vs_copy": round(medians["fingerprint"] / medians["duckdb-copy"], 3),
        "fingerprint_all_vs_copy": round(medians["fingerprint-all"] / medians["duckdb-copy"],
                                         3),
        "heal_minus_backfill_s": round(medians["heal"] - medians["backfill-20"], 2),
        "incremental_vs_full": round(medians["incremental"] / medians["full-copy"], 3),
        "incremental_no_keys_vs_full": round(medians["incremental-no-keys"]
                                             / medians["full-copy"], 3),
    }


def report(s: dict[str, Any]) -> str:
    header = f"{'method':20} {'median s':>9} {'range s':>15} {'runs s':>24}"
    lines = ["", header, "-" * len(header)]
    for name, m in s["methods"].items():
        runs = " ".join(f"{x:.2f}" for x in m["runs_s"])
        lines.append(f"{name:20} {m['median_s']:9.2f} {m['min_s']:7.2f}-{m['max_s']:<7.2f} "
                     f"{runs:>24}")
    lines += [
        "",
        f"fingerprint (key + change_column) / DuckDB COPY: {s['fingerprint_vs_copy']:.2f}x "
        f"(target <= {TARGETS['fingerprint / duckdb-copy']}); all columns: "
        f"{s['fingerprint_all_vs_copy']:.2f}x",
        f"heal of {s['drifted_days']} scattered days - backfill of {s['drifted_days']} days: "
        f"{s['heal_minus_backfill_s']:+.2f}s (target <= +{HEAL_SLACK_S:g}s)",
        f"incremental run / full copy: {s['incremental_vs_full']:.3f}x "
        f"(target <= {TARGETS['incremental / full-copy']}); without its key read: "
        f"{s['incremental_no_keys_vs_full']:.3f}x",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
