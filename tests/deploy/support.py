"""A deployment for the tests: tenants on real databases, ``etl deploy up`` as a user starts it.

Each tenant has its own source database and login on PostgreSQL (``t_ops`` on a cluster of its
own, so the tests can stop it), its Parquet on the S3 server and its own DuckDB warehouse; the
instance is another database on the session's PostgreSQL. The secrets (the source passwords)
are only in this test process's environment and, through ``etl deploy up``, in the code server
of the tenant each belongs to.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import dagster as dg
import psycopg
from psycopg import sql

from tests.ui import UI
from tools.services import postgres
from tools.services.base import Service, free_port
from tools.services.s3 import S3Bucket

T = TypeVar("T")

TODAY = dt.datetime.now(dt.UTC).date()
YESTERDAY = TODAY - dt.timedelta(days=1)
FIRST_DAY = TODAY - dt.timedelta(days=12)
#: Ten days for the backfill; the day after them to yesterday is left to the schedule.
BACKFILL_DAYS = tuple(FIRST_DAY + dt.timedelta(days=i) for i in range(10))
ROWS_PER_DAY = 40
ETL = Path(sys.executable).parent / "etl"


@dataclass(frozen=True)
class Tenant:
    id: str
    server: Service  # the PostgreSQL holding its source database
    password: str
    max_concurrent: int = 1
    schedule: bool = False
    ops: bool = False  # slow_orders and ghost instead of orders
    max_runtime_s: int | None = None
    reconcile: bool = False  # orders reconciled and healed every minute; items incremental

    @property
    def password_env(self) -> str:
        return f"{self.id.upper()}_DB_PASSWORD"

    @property
    def lake_env(self) -> dict[str, str]:
        """The names of its lake's access and secret key variables (each tenant its own)."""
        return {"access": f"{self.id.upper()}_LAKE_ACCESS_KEY",
                "secret": f"{self.id.upper()}_LAKE_SECRET_KEY"}

    @property
    def database(self) -> str:
        return f"src_{self.id}"

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return postgres.connect(self.server, self.database)


def create_source(tenant: Tenant) -> None:
    """The tenant's login, database and ``orders`` (40 rows a day from FIRST_DAY to today),
    ``slow_orders``, a view that first sleeps ``knobs.sleep_s`` seconds per query."""
    with postgres.connect(tenant.server) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(tenant.id), sql.Literal(tenant.password)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(tenant.database), sql.Identifier(tenant.id)))
    with tenant.connect() as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(tenant.id)))
        conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY, created_at timestamp NOT NULL,"
                     " amount numeric(12, 2) NOT NULL, customer text)")
        rows = [(day * 1000 + i, dt.datetime.combine(FIRST_DAY + dt.timedelta(days=day),
                                                     dt.time(i % 24, i)),
                 f"{(day + 1) * (i + 1) * 1.25:.2f}", f"c{i % 7}")
                for day in range(13) for i in range(ROWS_PER_DAY)]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s)", rows)
        conn.execute("CREATE TABLE knobs (sleep_s double precision NOT NULL)")
        conn.execute("INSERT INTO knobs VALUES (0)")
        conn.execute("""
            CREATE FUNCTION slow_orders_fn() RETURNS SETOF orders LANGUAGE plpgsql AS $$
            BEGIN
              PERFORM pg_sleep((SELECT sleep_s FROM knobs));
              RETURN QUERY SELECT * FROM orders;
            END $$""")
        conn.execute("CREATE VIEW slow_orders AS SELECT * FROM slow_orders_fn()")
        conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, "
                     "updated_at timestamp(6) NOT NULL)")
        conn.execute("INSERT INTO items SELECT g, 'item ' || g, timestamp '2026-01-01' "
                     "+ g * interval '1 second' FROM generate_series(1, 200) g")


def set_sleep(tenant: Tenant, seconds: float) -> None:
    with tenant.connect() as conn:
        conn.execute("UPDATE knobs SET sleep_s = %s", (seconds,))


def source_counts(tenant: Tenant, days: tuple[dt.date, ...]) -> dict[str, int]:
    with tenant.connect() as conn:
        rows = conn.execute("SELECT created_at::date, count(*) FROM orders GROUP BY 1").fetchall()
    counts = {str(day): int(n) for day, n in rows}  # type: ignore[call-overload]
    return {str(d): counts.get(str(d), 0) for d in days}


def active_queries(tenant: Tenant, like: str) -> int:
    """Queries of the tenant's login running on its server whose text contains ``like``."""
    with postgres.connect(tenant.server) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND state = 'active' "
            "AND query ILIKE %s", (tenant.id, f"%{like}%")).fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]


CONFIG = """\
tenant:
  id: {id}
  name: Deployment test tenant {id}
source:
  url: postgresql+psycopg://{id}@{host}:{port}/{database}
  password_env: {password_env}
  statement_timeout_s: 120
  max_concurrent_steps: {max_concurrent}
storage:
  root: s3://{bucket}/lake
  endpoint_url: {endpoint}
  access_key_env: {env_prefix}LAKE_ACCESS_KEY
  secret_key_env: {env_prefix}LAKE_SECRET_KEY
warehouse:
  type: duckdb
  path: {warehouse}
schedule:
  cron: "{cron}"
  timezone: UTC
  start_date: {first_day}
  enabled: {schedule}
{schedules}backfill:
  days_per_run: 2
  days_per_scan: 1
runs:
  max_concurrent: {max_concurrent}
  max_retries: 1
{max_runtime}  retry:
    attempts: 6
    initial_delay_s: 1
    max_delay_s: 3
assets:
  pipelines:
    - {{name: work_order, enabled: false}}
    - {{name: production_result, enabled: false}}
    - {{name: quality_inspection, enabled: false}}
{pipelines}"""

ORDERS = """\
    - name: orders
      description: Orders by creation day.
      table: orders
      date_column: created_at
      primary_key: [id]
      has_transfer: true
      transfer: {function: "tenant:peek"}
      save_to_trino: true
      checks:
        rules:
          - {type: expression, name: amount_positive, sql: amount > 0, blocking: true}
"""
# t_rec: every minute a reconcile of the 12 complete days (healing what differs) and an
# incremental run of items; its daily schedule is left for a day that never comes.
RECONCILE = """\
  master_sync_cron: "* * * * *"
reconcile:
  cron: "* * * * *"
  window_days: 12
  heal: true
"""
ITEMS = """\
    - {name: items, table: items, primary_key: [id], save_to_trino: true, mode: incremental,
       cursor_column: updated_at, lag: 1m, deletes: {mode: hard}}
"""
# t_ops: a query that sleeps as long as the test wants, and a table that does not exist.
OPS = """\
    - name: slow_orders
      description: The orders through a view that sleeps first.
      table: slow_orders
      date_column: created_at
      primary_key: [id]
      save_to_trino: true
    - name: ghost
      description: A table that does not exist.
      table: no_such_table
      date_column: created_at
      save_to_trino: true
"""

# The tenant's own transfer: records which database passwords its process can read.
PEEK = '''
"""Transfer of the deployment tests: the common one, after noting the visible secrets."""

import os
from pathlib import Path

from etl.common.transfer import standardize


def peek(source, ctx):
    seen = sorted(k for k in os.environ if k.endswith("_DB_PASSWORD"))
    (Path(__file__).parent / "seen_env.txt").write_text("\\n".join(seen))
    (Path(__file__).parent / "seen_pg_user.txt").write_text(os.environ["DAGSTER_PG_USER"])
    return standardize(source, ctx)
'''


def write_tenant(tenants_dir: Path, tenant: Tenant, bucket: S3Bucket, warehouses: Path) -> None:
    folder = tenants_dir / tenant.id
    (folder / "assets").mkdir(parents=True)
    (folder / "config.yaml").write_text(CONFIG.format(
        id=tenant.id, host=tenant.server.host, port=tenant.server.port,
        database=tenant.database, password_env=tenant.password_env, bucket=bucket.bucket,
        env_prefix=f"{tenant.id.upper()}_",
        endpoint=bucket.endpoint_url, warehouse=warehouses / f"{tenant.id}.duckdb",
        first_day=FIRST_DAY, schedule=str(tenant.schedule).lower(),
        cron="0 3 1 1 *" if tenant.reconcile else "* * * * *",
        schedules=RECONCILE if tenant.reconcile else "",
        max_concurrent=tenant.max_concurrent,
        pipelines=OPS if tenant.ops else ORDERS + (ITEMS if tenant.reconcile else ""),
        max_runtime=(f"  max_runtime_s: {tenant.max_runtime_s}\n"
                     if tenant.max_runtime_s is not None else "")))
    (folder / "assets" / "__init__.py").write_text("")
    (folder / "assets" / "transfer.py").write_text(PEEK)


def seen_pg_user(tenants_dir: Path, tenant: Tenant) -> str | None:
    """The instance login the tenant's runs had (written by its transfer code)."""
    path = tenants_dir / tenant.id / "assets" / "seen_pg_user.txt"
    return path.read_text() if path.exists() else None


def seen_env(tenants_dir: Path, tenant: Tenant) -> list[str]:
    path = tenants_dir / tenant.id / "assets" / "seen_env.txt"
    return path.read_text().split() if path.exists() else []


def new_password() -> str:
    return f"pw-{secrets.token_hex(12)}"


@dataclass
class Deployment:
    """``etl deploy up`` running in a subprocess, and the instance it serves."""

    home: Path
    tenants_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path
    state: dict[str, object] = field(default_factory=dict)

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def etl(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run([str(ETL), *args], env=self.env, cwd=self.home.parent,
                              capture_output=True, text=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"etl {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr  # progress and messages are on stderr

    def ui(self) -> UI:
        """The deployment's webserver, queried as the UI queries it."""
        return UI(url=str(self.state["webserver"]))

    def pids(self) -> dict[str, int]:
        return dict(self.state["pids"])  # type: ignore[call-overload]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=90)


def start_deployment(home: Path, tenants_dir: Path, env: Mapping[str, str],
                     timeout: float = 300) -> Deployment:
    ready = home.parent / "ready.json"
    log = home.parent / "deploy.log"
    home.mkdir(parents=True)
    cmd = [str(ETL), "deploy", "up", "--home", str(home), "--port", str(free_port()),
           "--ready-file", str(ready), "--monitor-interval-s", "2",
           "--free-slots-after-s", "5", "--start-timeout-s", "60"]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, env=dict(env), cwd=home.parent, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deployment = Deployment(home, tenants_dir, dict(env), process, log)
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            deployment.stop()
            raise AssertionError(f"etl deploy up did not come up:\n{log.read_text()}\n"
                                 + "\n".join(_log_tails(home / "process-logs")))
        time.sleep(0.5)
    deployment.state = json.loads(ready.read_text())
    return deployment


def _log_tails(folder: Path) -> Iterator[str]:
    for path in sorted(folder.glob("*.log")):
        yield f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-30:])


def eventually(check: Callable[[], T | None], what: str, timeout: float,
               interval: float = 1.0) -> T:
    """``check()``'s first result that is not None (or falsy), polling until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout:.0f}s")
        time.sleep(interval)


def environ_of(pid: int) -> dict[str, str] | None:
    """The process's environment, or None when it has exited since it was listed (a code
    server's short-lived children come and go)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except (ProcessLookupError, FileNotFoundError):
        return None
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


def process_tree(pid: int) -> list[int]:
    import psutil

    try:
        parent = psutil.Process(pid)
        return [pid, *(child.pid for child in parent.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")


def start_again(deployment: Deployment, timeout: float = 300) -> Deployment:
    """``etl deploy up`` once more on a stopped deployment's home and instance (a restart of
    the daemon and every code server), with the arguments :func:`start_deployment` uses."""
    assert deployment.process.poll() is not None, "stop the deployment first"
    ready = deployment.home.parent / "ready.json"
    ready.unlink(missing_ok=True)
    log = deployment.home.parent / "deploy-again.log"
    cmd = [str(ETL), "deploy", "up", "--home", str(deployment.home), "--no-webserver",
           "--ready-file", str(ready), "--monitor-interval-s", "2",
           "--free-slots-after-s", "5", "--start-timeout-s", "60"]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, env=deployment.env, cwd=deployment.home.parent,
                                   stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    again = Deployment(deployment.home, deployment.tenants_dir, deployment.env, process, log)
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            again.stop()
            raise AssertionError(f"etl deploy up did not come up again:\n{log.read_text()}")
        time.sleep(0.5)
    again.state = json.loads(ready.read_text())
    return again
