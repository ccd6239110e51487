"""Per-run overhead through a deployment: a tenant's day from queued to success via the daemon.

    python -m bench.deploy_runs [--tenants 100] [--rounds 5] [--dsn URL]

Two deployments run side by side on one PostgreSQL server (started through ``tools/services``
unless ``--dsn`` names one), each its own instance database:

* ``per-tenant``: ``etl deploy up`` with one code server per tenant (three tenants);
* ``etl.all``: ``etl deploy up --single-location``, one code server holding ``--tenants``
  tenants.

Each round submits the same tenant's daily run (one day of the sample tables, embedded SQLite
source, local lake, its own DuckDB file) to each deployment in turn, alternating which goes
first, and waits for it. From the run's own events: queued -> success in total, the step's own
time, and where the rest goes (queue, worker start, run start to step, step end to success).
Medians over the rounds, with their spread, go to the ``deploy_runs`` section of
``bench/results.json``. Targets: total within the step's time + 4 s (per-tenant), and
``etl.all`` no slower than per-tenant by more than 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa

from bench.results import update

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OVERHEAD_TARGET_S = 4.0
ALL_TARGET_S = 1.0
DAY = dt.date(2026, 3, 2)
MEASURED = "t000"
PER_TENANT = ("t000", "t001", "t002")

CONFIG = """\
tenant: {{id: {id}, name: Bench tenant {id}}}
source: {{url: "sqlite:///{root}/sources/{id}.db"}}
storage: {{root: {root}/lake}}
warehouse: {{type: duckdb, path: {root}/warehouses/{id}.duckdb}}
schedule: {{start_date: 2026-03-01, timezone: UTC}}
"""


@dataclass
class Sample:
    mode: str
    total_s: float  # enqueued -> success
    step_s: float  # the step's own time
    queued_s: float  # enqueued -> dequeued (starting)
    worker_s: float  # starting -> run started (the run worker's process and code load)
    to_step_s: float  # run started -> step started
    after_step_s: float  # step succeeded -> run succeeded

    @property
    def overhead_s(self) -> float:
        return self.total_s - self.step_s


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="etl-bench-deploy-") as tmp, \
            instance_server(args.dsn) as pg:
        root = Path(tmp)
        make_tenants(root, args.tenants)
        deployments = {
            "per-tenant": Deployment.start(root, "per-tenant", pg, list(PER_TENANT)),
            "etl.all": Deployment.start(root, "etl.all", pg, None),
        }
        samples: list[Sample] = []
        try:
            for i in range(args.rounds):
                order = list(deployments) if i % 2 == 0 else list(reversed(deployments))
                for mode in order:
                    sample = deployments[mode].run_day()
                    samples.append(sample)
                    print(f"[{i + 1}/{args.rounds}] {line(sample)}", flush=True)
        finally:
            for deployment in deployments.values():
                deployment.stop()
    summary = summarize(samples, args)
    print(report(summary))
    print(f"wrote {update('deploy_runs', summary)}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tenants", type=int, default=100, help="tenants in the etl.all location")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--dsn", help="postgresql://user:password@host:port of a server to use")
    return p


@contextlib.contextmanager
def instance_server(dsn: str | None) -> Iterator[dict[str, str]]:
    """``DAGSTER_PG_*`` of a server; databases are created per deployment."""
    if dsn:
        url = sa.engine.make_url(dsn)
        yield {"DAGSTER_PG_HOST": str(url.host), "DAGSTER_PG_PORT": str(url.port or 5432),
               "DAGSTER_PG_USER": str(url.username), "DAGSTER_PG_PASSWORD": str(url.password),
               "_ADMIN": dsn}
        return
    from tools.services import postgres

    with postgres.start_postgres() as svc:
        yield {"DAGSTER_PG_HOST": svc.host, "DAGSTER_PG_PORT": str(svc.port),
               "DAGSTER_PG_USER": svc.user, "DAGSTER_PG_PASSWORD": svc.password,
               "_ADMIN": svc.url}


def make_tenants(root: Path, count: int) -> None:
    """``count`` tenants on the common pipelines; only the measured one has data."""
    from etl.demo.sample_db import seed

    for i in range(count):
        tenant = f"t{i:03d}"
        folder = root / "tenants" / tenant
        folder.mkdir(parents=True)
        (folder / "config.yaml").write_text(CONFIG.format(id=tenant, root=root))
    (root / "sources").mkdir()
    for tenant in PER_TENANT:
        seed(sa.create_engine(f"sqlite:///{root}/sources/{tenant}.db"), [DAY])
    for i in range(len(PER_TENANT), count):
        sa.create_engine(f"sqlite:///{root}/sources/t{i:03d}.db").connect().close()


@dataclass
class Deployment:
    mode: str
    home: Path
    env: dict[str, str]
    process: Any
    instance: dg.DagsterInstance

    @classmethod
    def start(cls, root: Path, mode: str, pg: dict[str, str],
              tenants: list[str] | None) -> Deployment:
        import subprocess
        import time

        database = f"bench_{mode.replace('.', '_').replace('-', '_')}_{uuid.uuid4().hex[:6]}"
        engine = sa.create_engine(pg["_ADMIN"], isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
        env = {**os.environ, **{k: v for k, v in pg.items() if not k.startswith("_")},
               "DAGSTER_PG_DB": database, "ETL_TENANTS_DIR": str(root / "tenants")}
        home = root / mode
        ready = root / f"{mode}.ready.json"
        cmd = [str(Path(sys.executable).parent / "etl"), "deploy", "up", "--home", str(home),
               "--no-webserver", "--ready-file", str(ready)]
        if tenants is None:
            cmd.append("--single-location")
        else:
            for tenant in tenants:
                cmd += ["--tenant", tenant]
        log = (root / f"{mode}.log").open("wb")
        process = subprocess.Popen(cmd, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        started = time.monotonic()
        while not ready.exists():
            if process.poll() is not None or time.monotonic() - started > 600:
                raise RuntimeError(f"{mode}: etl deploy up failed; see {log.name}:\n"
                                   + (root / f"{mode}.log").read_text()[-3000:])
            time.sleep(0.5)
        print(f"{mode}: up in {time.monotonic() - started:.1f}s", flush=True)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("DAGSTER_PG",
                                                                          "ETL_"))})
        instance = dg.DagsterInstance.from_config(str(home))  # resolves DAGSTER_PG_DB now
        return cls(mode, home, env, process, instance)

    def run_day(self) -> Sample:
        from etl.runs.launch import CodeLocation, RunRequest
        from etl.runs.submit import submit_run, wait_for_run

        if self.mode == "etl.all":
            location, job = CodeLocation("etl.all", "etl.all"), f"{MEASURED}__daily_etl_job"
        else:
            location, job = CodeLocation.of_tenant(MEASURED), "daily_etl_job"
        os.environ["ETL_TENANTS_DIR"] = self.env["ETL_TENANTS_DIR"]
        run = submit_run(self.instance, RunRequest(location, job, days=(DAY.isoformat(),)))
        done = wait_for_run(self.instance, run.run_id, timeout_s=600, poll_s=0.2)
        if done.status != dg.DagsterRunStatus.SUCCESS:
            raise RuntimeError(f"{self.mode}: run {run.run_id} ended {done.status.value}")
        return sample(self.mode, self.instance, run.run_id)

    def stop(self) -> None:
        import signal

        self.instance.dispose()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)


def sample(mode: str, instance: dg.DagsterInstance, run_id: str) -> Sample:
    times: dict[str, float] = {}
    for record in instance.get_records_for_run(run_id, limit=10_000).records:
        event = record.event_log_entry.dagster_event_type
        if event is not None:
            times.setdefault(event.value, record.event_log_entry.timestamp)
    enqueued, starting = times["PIPELINE_ENQUEUED"], times["PIPELINE_STARTING"]
    start, success = times["PIPELINE_START"], times["PIPELINE_SUCCESS"]
    step_start, step_end = times["STEP_START"], times["STEP_SUCCESS"]
    return Sample(mode, success - enqueued, step_end - step_start, starting - enqueued,
                  start - starting, step_start - start, success - step_end)


def line(s: Sample) -> str:
    return (f"{s.mode:<10} total {s.total_s:5.2f}s = step {s.step_s:5.2f}s + overhead "
            f"{s.overhead_s:5.2f}s (queue {s.queued_s:.2f}, worker start {s.worker_s:.2f}, "
            f"to step {s.to_step_s:.2f}, after step {s.after_step_s:.2f})")


def summarize(samples: list[Sample], args: argparse.Namespace) -> dict[str, Any]:
    modes: dict[str, Any] = {}
    for mode in ("per-tenant", "etl.all"):
        own = [s for s in samples if s.mode == mode]
        modes[mode] = {
            key: {"median": statistics.median(getattr(s, key) for s in own),
                  "min": min(getattr(s, key) for s in own),
                  "max": max(getattr(s, key) for s in own)}
            for key in ("total_s", "step_s", "overhead_s", "queued_s", "worker_s",
                        "to_step_s", "after_step_s")
        }
    per, every = modes["per-tenant"], modes["etl.all"]
    return {
        "tenants_in_etl_all": args.tenants, "rounds": args.rounds, "cpus": os.cpu_count(),
        "modes": modes, "samples": [asdict(s) | {"overhead_s": s.overhead_s} for s in samples],
        "overhead_target_s": OVERHEAD_TARGET_S,
        "overhead_ok": per["overhead_s"]["median"] <= OVERHEAD_TARGET_S,
        "etl_all_minus_per_tenant_s": every["total_s"]["median"] - per["total_s"]["median"],
        "etl_all_ok": every["total_s"]["median"] - per["total_s"]["median"] <= ALL_TARGET_S,
    }


def report(summary: dict[str, Any]) -> str:
    rows = [f"medians over {summary['rounds']} rounds (min..max), {summary['cpus']} CPUs:"]
    for mode, figures in summary["modes"].items():
        rows.append(f"  {mode:<10} " + ", ".join(
            f"{key[:-2]} {f['median']:.2f}s ({f['min']:.2f}..{f['max']:.2f})"
            for key, f in figures.items()))
    per = summary["modes"]["per-tenant"]
    rows.append(f"per-tenant overhead {per['overhead_s']['median']:.2f}s around a "
                f"{per['step_s']['median']:.2f}s step: target <= {OVERHEAD_TARGET_S:.0f}s "
                f"{'met' if summary['overhead_ok'] else 'MISSED'}")
    rows.append(f"etl.all ({summary['tenants_in_etl_all']} tenants) minus per-tenant: "
                f"{summary['etl_all_minus_per_tenant_s']:+.2f}s: target <= "
                f"{ALL_TARGET_S:.0f}s {'met' if summary['etl_all_ok'] else 'MISSED'}")
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
