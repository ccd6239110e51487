"""How long definitions take to build at scale: N synthetic tenants x P pipelines.

Prints the time and peak memory to build ``etl.all``'s definitions and resolve every job and
schedule, and the time for one tenant's code location. Each measurement runs in a fresh
process; the build time is counted from the moment ``dagster`` and ``etl`` are imported, and the
import time (a fixed cost of every Dagster code server, about 2 s here) is printed beside it.
Targets (100 x 30 = 9,000 assets): all <= 15 s and <= 400 MiB; one tenant <= 1.5 s.

    python bench/defs_scale.py [--tenants 100] [--pipelines 30] [--repeat 3]

The two measurements alternate for ``--repeat`` rounds; medians are printed, with the range.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

MASTER_EVERY = 10  # one pipeline in ten is unpartitioned master data

CONFIG = """\
tenant: {{id: {tenant}, name: Tenant {tenant}}}
source: {{url: "postgresql+psycopg://etl@db-{tenant}.internal:5432/mes",
          password_env: {env}_DB_PASSWORD}}
storage: {{root: "s3://lake/{tenant}", endpoint_url: "http://127.0.0.1:9000", path_style: true}}
warehouse: {{type: duckdb, path: .etl/bench.duckdb}}
schedule: {{cron: "0 2 * * *", timezone: Asia/Seoul, start_date: 2025-01-01,
           master_sync_cron: "0 3 * * *"}}
tags: {{site: {tenant}}}
assets:
  pipelines:
{pipelines}
"""

PIPELINE = """\
    - name: table_{i:03d}
      table: table_{i:03d}
      {date}
      primary_key: [id]
      has_transfer: true
      save_to_trino: true
"""

MEASURE = textwrap.dedent("""
    import json, resource, sys, time
    from pathlib import Path
    started = time.perf_counter()
    import dagster
    from etl.factories.definitions_factory import build_all_definitions, build_tenant_definitions
    imported = time.perf_counter()
    tenants_dir = Path(sys.argv[1])
    if sys.argv[2] == "all":
        defs = build_all_definitions(tenants_dir, common_file=None)
    else:
        defs = build_tenant_definitions(sys.argv[2], tenants_dir, common_file=None)
    repo = defs.get_repository_def()
    jobs = repo.get_all_jobs()
    schedules = repo.schedule_defs
    assets = len(repo.asset_graph.get_all_asset_keys())
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": done - imported, "import_s": imported - started,
                      "total_s": done - started, "peak_rss_mib": peak, "assets": assets,
                      "jobs": len(jobs), "schedules": len(schedules)}))
""")


def write_tenants(root: Path, tenants: int, pipelines: int) -> None:
    for t in range(tenants):
        tenant = f"site_{t:04d}"
        body = "".join(
            PIPELINE.format(i=i, date="" if i % MASTER_EVERY == 0 else "date_column: updated_at")
            for i in range(pipelines)
        )
        folder = root / tenant
        folder.mkdir(parents=True)
        (folder / "config.yaml").write_text(
            CONFIG.format(tenant=tenant, env=tenant.upper(), pipelines=body)
        )


def measure(tenants_dir: Path, target: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(tenants_dir), target],
        check=True, capture_output=True, text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--pipelines", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    wholes: list[dict[str, float]] = []
    ones: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tenants"
        write_tenants(root, args.tenants, args.pipelines)
        for _ in range(args.repeat):
            wholes.append(measure(root, "all"))
            ones.append(measure(root, "site_0000"))
    whole, one = median(wholes), median(ones)
    print(f"etl.all with {args.tenants} tenants x {args.pipelines} pipelines: "
          f"{whole['assets']:.0f} assets, {whole['jobs']:.0f} jobs (incl. implicit), "
          f"{whole['schedules']:.0f} schedules; medians of {args.repeat} rounds")
    print(f"  build + resolve jobs and schedules: {whole['seconds']:.2f} s "
          f"({spread(wholes, 'seconds')}; target <= 15 s); with imports {whole['total_s']:.2f} s; "
          f"peak RSS {whole['peak_rss_mib']:.0f} MiB (target <= 400 MiB)")
    print(f"one tenant's location: {one['seconds']:.2f} s ({spread(ones, 'seconds')}; "
          f"target <= 1.5 s); with imports {one['total_s']:.2f} s "
          f"({one['import_s']:.2f} s of it importing dagster and etl); "
          f"{one['assets']:.0f} assets, peak RSS {one['peak_rss_mib']:.0f} MiB")


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def spread(runs: list[dict[str, float]], key: str) -> str:
    values = [r[key] for r in runs]
    return f"range {min(values):.2f}-{max(values):.2f}"


if __name__ == "__main__":
    main()
