"""How long ``etl status`` takes over a fleet: N tenants x P daily pipelines, D days recorded.

Writes N synthetic tenants (the defs-scale shape: three stages per pipeline), records D days of
every stage of every pipeline in a fresh local Dagster home (one run yielding each day's
materialization, as a range run does, and each day's row-count check result), then times
``etl status`` over all tenants as a user runs it (a new process, imports included) and the
reading alone, in alternating rounds. Target: 100 tenants in under 5 s.

    python -m bench.status_scale [--tenants 100] [--pipelines 3] [--days 30] [--repeat 3]
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
import textwrap
import time
from pathlib import Path

CONFIG = """\
tenant: {{id: {tenant}, name: Tenant {tenant}}}
source: {{url: "postgresql+psycopg://etl@db-{tenant}.internal:5432/mes",
          password_env: {env}_DB_PASSWORD}}
storage: {{root: ".etl/lake-{tenant}"}}
warehouse: {{type: duckdb, path: .etl/bench.duckdb}}
schedule: {{cron: "0 2 * * *", timezone: UTC, start_date: {start}}}
assets:
  inherit: none
  pipelines:
{pipelines}
"""
PIPELINE = """\
    - name: table_{i:03d}
      table: table_{i:03d}
      date_column: updated_at
      primary_key: [id]
      has_transfer: true
      save_to_trino: true
"""

RECORD = textwrap.dedent("""
    import datetime as dt, sys
    import dagster as dg
    from etl import naming
    from etl.runs.home import instance
    tenants, pipelines, days = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")

    @dg.op
    def record(context):
        for t in range(tenants):
            tenant = f"site_{t:04d}"
            for i in range(pipelines):
                name = f"table_{i:03d}"
                for stage in naming.STAGES:
                    key = naming.asset_key(tenant, stage, name)
                    for day in days:
                        yield dg.AssetMaterialization(
                            asset_key=key, partition=day,
                            metadata={"dagster/row_count": 1000 + i})
        yield dg.Output(None)

    @dg.job
    def history():
        record()

    with instance() as inst:
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        assert history.execute_in_process(instance=inst, run_config=quiet).success
""")

READ = textwrap.dedent("""
    import datetime as dt, json, sys, time
    from etl.config.config_loader import load_tenant_config
    from etl.config.discovery import discover_tenants
    from etl.runs.home import instance
    from etl.status.collect import tenant_status
    started = time.perf_counter()
    configs = [load_tenant_config(t, check_siblings=False).config for t in discover_tenants()]
    loaded = time.perf_counter()
    with instance() as inst:
        rows = [s for c in configs
                for s in tenant_status(inst, c, int(sys.argv[1]), dt.datetime.now(dt.UTC))]
    done = time.perf_counter()
    print(json.dumps({"configs_s": loaded - started, "read_s": done - loaded,
                      "rows": len(rows)}))
""")


def write_tenants(root: Path, tenants: int, pipelines: int, start: dt.date) -> None:
    for t in range(tenants):
        tenant = f"site_{t:04d}"
        folder = root / tenant
        folder.mkdir(parents=True)
        body = "".join(PIPELINE.format(i=i) for i in range(pipelines))
        (folder / "config.yaml").write_text(CONFIG.format(
            tenant=tenant, env=tenant.upper(), start=start, pipelines=body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--pipelines", type=int, default=3)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    today = dt.datetime.now(dt.UTC).date()
    days = [(today - dt.timedelta(days=i)).isoformat() for i in range(args.days, 0, -1)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_tenants(root / "tenants", args.tenants, args.pipelines,
                      today - dt.timedelta(days=args.days + 5))
        env = {**os.environ, "ETL_TENANTS_DIR": str(root / "tenants"),
               "DAGSTER_HOME": str(root / "home")}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", RECORD, str(args.tenants), str(args.pipelines),
                        ",".join(days)], env=env, cwd=root, check=True)
        events = args.tenants * args.pipelines * 3 * args.days
        print(f"recorded {events:,} materializations in {time.perf_counter() - started:.1f} s")
        commands, reads = [], []
        for _ in range(args.repeat):
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "etl.cli", "status", "--days",
                            str(args.days)], env=env, cwd=root, check=True,
                           stdout=subprocess.DEVNULL)
            commands.append(time.perf_counter() - began)
            out = subprocess.run([sys.executable, "-c", READ, str(args.days)], env=env, cwd=root,
                                 check=True, capture_output=True, text=True).stdout
            reads.append(json.loads(out.strip().splitlines()[-1]))
    print(f"etl status, {args.tenants} tenants x {args.pipelines} pipelines, {args.days} days; "
          f"medians of {args.repeat} rounds")
    print(f"  the command (new process, imports included): {statistics.median(commands):.2f} s "
          f"(range {min(commands):.2f}-{max(commands):.2f}; target < 5 s)")
    for key, what in (("configs_s", "loading the configs"), ("read_s", "reading the instance")):
        values = [r[key] for r in reads]
        print(f"  {what}: {statistics.median(values):.2f} s "
              f"(range {min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
