"""How long ``etl status`` takes over a fleet: N tenants x P daily pipelines, D days recorded.

Writes N synthetic tenants (the defs-scale shape: three stages per pipeline), records D days of
every stage of every pipeline in a fresh local Dagster home (one run yielding each day's
materialization, as a range run does, then each day's four check results naming the day's
materialization: the primary key's two, the reconciliation, the freshness), then times
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
from typing import Any

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
    from etl.instance.private import CheckTarget
    from etl.runs.home import instance
    tenants, pipelines, days = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
    CHECKS = (("transfer", naming.PRIMARY_KEY_UNIQUE_CHECK),
              ("transfer", naming.PRIMARY_KEY_NOT_NULL_CHECK),
              ("load", naming.RECONCILE_CHECK), ("load", naming.FRESHNESS_CHECK))

    def keys():
        for t in range(tenants):
            for i in range(pipelines):
                yield f"site_{t:04d}", f"table_{i:03d}", i

    @dg.op
    def record(context):
        for tenant, name, i in keys():
            for stage in naming.STAGES:
                key = naming.asset_key(tenant, stage, name)
                for day in days:
                    yield dg.AssetMaterialization(
                        asset_key=key, partition=day,
                        metadata={"dagster/row_count": 1000 + i})
        yield dg.Output(None)

    @dg.op
    def judge(context):
        for tenant, name, i in keys():
            for stage in ("transfer", "load"):
                key = naming.asset_key(tenant, stage, name)
                latest = {r.partition_key: r for r in context.instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=key, asset_partitions=days),
                    limit=len(days)).records}
                for day in days:
                    r = latest[day]
                    target = CheckTarget(storage_id=r.storage_id, run_id=r.run_id,
                                         timestamp=r.timestamp)
                    for check in (c for s, c in CHECKS if s == stage):
                        context.log_event(dg.AssetCheckEvaluation(
                            asset_key=key, check_name=check, partition=day,
                            passed=not (check == naming.RECONCILE_CHECK and day == days[-3]),
                            target_materialization_data=target))
        yield dg.Output(None)

    @dg.job
    def history():
        record()

    @dg.job
    def checks():
        judge()

    with instance() as inst:
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        assert history.execute_in_process(instance=inst, run_config=quiet).success
        assert checks.execute_in_process(instance=inst, run_config=quiet).success
""")

READ = textwrap.dedent("""
    import datetime as dt, json, sys, time
    from etl.config.config_loader import load_tenant_config
    from etl.config.discovery import discover_tenants
    from etl.runs.home import instance
    from etl.status.collect import fleet_status
    started = time.perf_counter()
    configs = [load_tenant_config(t, check_siblings=False).config for t in discover_tenants()]
    loaded = time.perf_counter()
    with instance() as inst:
        rows = fleet_status(inst, configs, int(sys.argv[1]), dt.datetime.now(dt.UTC),
                            grouped=sys.argv[2] == "grouped")
    done = time.perf_counter()
    import dataclasses, hashlib
    digest = hashlib.sha256(json.dumps([dataclasses.asdict(r) for r in rows]).encode())
    print(json.dumps({"configs_s": loaded - started, "read_s": done - loaded,
                      "rows": len(rows), "digest": digest.hexdigest(),
                      "failing": sum(len(d) for r in rows for d in r.failing_checks.values())}))
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
        print(f"recorded {events:,} materializations and {events * 4 // 3:,} check results in "
              f"{time.perf_counter() - started:.1f} s")
        commands: list[float] = []
        reads: dict[str, list[dict[str, Any]]] = {"grouped": [], "dagster": []}
        for _ in range(args.repeat):  # interleaved: the command, then each way of reading
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "etl.cli", "status", "--days",
                            str(args.days)], env=env, cwd=root, check=True,
                           stdout=subprocess.DEVNULL)
            commands.append(time.perf_counter() - began)
            for way, found in reads.items():
                out = subprocess.run([sys.executable, "-c", READ, str(args.days), way], env=env,
                                     cwd=root, check=True, capture_output=True, text=True).stdout
                found.append(json.loads(out.strip().splitlines()[-1]))
    digests = {r["digest"] for found in reads.values() for r in found}
    assert len(digests) == 1, "the two ways of reading disagree"
    failing = {r["failing"] for found in reads.values() for r in found}
    assert failing == {args.tenants * args.pipelines}, failing  # one failed day each
    print(f"etl status, {args.tenants} tenants x {args.pipelines} pipelines, {args.days} days; "
          f"medians of {args.repeat} interleaved rounds")
    print(f"  the command (new process, imports included): {statistics.median(commands):.2f} s "
          f"(range {min(commands):.2f}-{max(commands):.2f}; target < 5 s)")
    print(f"  loading the configs: {_spread([r['configs_s'] for r in reads['grouped']])}")
    print(f"  reading the instance, days grouped for the fleet (etl status): "
          f"{_spread([r['read_s'] for r in reads['grouped']])}")
    print(f"  reading the instance, Dagster's own reads per asset and check: "
          f"{_spread([r['read_s'] for r in reads['dagster']])}")


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s (range {min(values):.2f}-{max(values):.2f})"


if __name__ == "__main__":
    main()
