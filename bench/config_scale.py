"""How one tenant's config path grows with its pipelines: validating it, building its location.

For each pipeline count, a tenant with that many full pipelines (daily, primary key, transfer,
load) is measured in a fresh process (past the limit of 500 the pipelines are short, name, table
and date column, so that 5,000 fit the 256 KiB file limit, as a file meant to hurt would):
``load_tenant_config`` (read, merge, validate: what the limit of 500 pipelines answers, and what
must stay linear) and, up to the limit, building its code location and resolving its jobs
(what Dagster spends on each pipeline's assets and checks). Past the limit the same file is also
validated with the limit lifted, to show what validating that many costs. Imports are not
counted.

    python bench/config_scale.py [--repeat 3] [--counts 100,250,500,5000]

Medians of ``--repeat`` rounds, counts interleaved, with the range.
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

from etl.config.pipeline import MAX_PIPELINES

HEADER = """\
tenant: {{id: {tenant}, name: Scale {tenant}}}
source: {{url: "sqlite:///source.db"}}
storage: {{root: lake}}
warehouse: {{type: duckdb}}
schedule: {{start_date: 2026-01-01}}
assets:
  inherit: none
  pipelines:
"""
ENTRY = ("    - {{name: p{i}, table: t{i}, date_column: d, primary_key: [id], has_transfer: true,"
         " save_to_trino: true}}\n")
SHORT_ENTRY = "    - {{name: p{i}, table: t{i}, date_column: d}}\n"

MEASURE = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import dagster
    from etl.config.config_loader import load_tenant_config
    from etl.config.errors import ConfigError
    from etl.factories.definitions_factory import tenant_definitions
    import etl.config.pipeline
    tenants_dir, tenant = Path(sys.argv[1]), sys.argv[2]
    if sys.argv[3:] == ["uncapped"]:  # the limit is read when the pipelines are validated
        etl.config.pipeline.MAX_PIPELINES = 10**9
    started = time.perf_counter()
    try:
        loaded = load_tenant_config(tenant, tenants_dir)
    except ConfigError as e:
        print(json.dumps({"load_s": time.perf_counter() - started, "outcome": str(e)[-120:]}))
        raise SystemExit(0)
    loaded_at = time.perf_counter()
    if sys.argv[3:] == ["uncapped"]:
        print(json.dumps({"load_s": loaded_at - started, "outcome": "ok"}))
        raise SystemExit(0)
    repo = tenant_definitions(loaded, qualified=False).get_repository_def()
    repo.get_all_jobs()
    print(json.dumps({"load_s": loaded_at - started, "build_s": time.perf_counter() - loaded_at,
                      "assets": len(repo.asset_graph.get_all_asset_keys()), "outcome": "ok"}))
""")


def write_tenant(root: Path, count: int) -> str:
    tenant = f"p{count}"
    (root / tenant).mkdir(parents=True)
    entry = ENTRY if count <= MAX_PIPELINES else SHORT_ENTRY
    text = HEADER.format(tenant=tenant) + "".join(entry.format(i=i) for i in range(count))
    (root / tenant / "config.yaml").write_text(text)
    return tenant


def measure(root: Path, tenant: str, uncapped: bool = False) -> dict[str, object]:
    extra = ["uncapped"] if uncapped else []
    out = subprocess.run([sys.executable, "-c", MEASURE, str(root), tenant, *extra],
                         check=True, capture_output=True, text=True, cwd=root)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--counts", default="100,250,500,5000")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    runs: dict[int, list[dict[str, object]]] = {c: [] for c in counts}
    lifted: dict[int, list[dict[str, object]]] = {c: [] for c in counts if c > MAX_PIPELINES}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tenants = {c: write_tenant(root, c) for c in counts}
        for _ in range(args.repeat):
            for count in counts:
                runs[count].append(measure(root, tenants[count]))
                if count in lifted:
                    lifted[count].append(measure(root, tenants[count], uncapped=True))
    for count in counts:
        rows = runs[count]
        line = f"{count:>6,} pipelines: validate {_stat(rows, 'load_s')}"
        if rows[0]["outcome"] == "ok":
            line += f"; build the location {_stat(rows, 'build_s')} ({rows[0]['assets']} assets)"
        else:
            line += f"; refused: ...{rows[0]['outcome']}"
        print(line)
        if count in lifted:
            print(f"{count:>6,} pipelines with the limit lifted: validate "
                  f"{_stat(lifted[count], 'load_s')}")
    print(f"medians of {args.repeat} rounds, each in a fresh process, imports not counted")


def _stat(rows: list[dict[str, object]], key: str) -> str:
    values = [float(str(r[key])) for r in rows]
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


if __name__ == "__main__":
    main()
