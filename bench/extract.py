"""Extraction benchmark: the project's extractor beside the usual PostgreSQL -> Parquet tools.

    uv run --group bench python -m bench.extract [--dsn URL] [--rows 5000000] [--days 30]
                                                 [--repeat 1] [--batch-size N] [--only NAME ...]

Without ``--dsn`` a throwaway PostgreSQL is started through ``tools/services``. A mixed-type
table (bigint, int, numeric(18,4), double, text, boolean, date, timestamp, timestamptz) is
generated server-side and reused on later runs. Each method then runs in its own subprocess, so
the peak RSS reported (the child's ``ru_maxrss``) belongs to that method alone; with
``--repeat`` the runs go round-robin over the methods and each method's fastest is kept.
"correct" means the row count matches PostgreSQL's and the key types survived: numeric(18,4) is
decimal(18,4) and timestamptz is UTC-aware. MB/s is the table's binary COPY volume (measured by
the floor) per second. Results go to the ``extract`` section of ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa

from bench.results import update
from bench.table import BenchTable, counts, ensure_table, server

URL_ENV = "ETL_BENCH_URL"  # the child's database URL (kept out of argv and `ps`)
UTC_NAMES = {"UTC", "+00:00", "Etc/UTC"}


@dataclass
class Result:
    method: str
    scope: str
    rows: int
    seconds: float
    rows_per_s: float
    mb_per_s: float | None
    peak_rss_mib: float
    imports_rss_mib: float  # the child's peak RSS before the method started (interpreter+imports)
    cpu_s: float  # the child's user+system CPU during the method (all its threads; not the server)
    correct: bool | None
    note: str
    median_s: float | None = None  # of all repeats; machine noise shows as its gap to seconds


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        return _child(args)
    from bench.methods import METHODS

    with server(args.dsn) as url:
        table = ensure_table(url, args.rows, args.days)
        expected = dict(zip(("full", "day"), counts(table), strict=True))
        print(f"table: {expected['full']:,} rows, day {table.day}: {expected['day']:,} rows")
        cases = [(name, scope) for name, spec in METHODS.items()
                 if not args.only or name in args.only for scope in spec.scopes]
        # Repeats go round-robin over the methods, not back to back: a slow spell of the
        # machine then costs every method one run instead of one method all of its runs.
        runs: dict[tuple[str, str], list[Result]] = {case: [] for case in cases}
        for i in range(args.repeat):
            for name, scope in cases:
                runs[name, scope].append(_run_child(name, scope, table, args, expected[scope]))
                print(f"[{i + 1}/{args.repeat}] {_line(runs[name, scope][-1])}", flush=True)
        results = [_best(runs[case]) for case in cases]
    _add_volume(results)
    print(_report(results))
    print(f"wrote {update('extract', [_record(r) for r in results])}")
    return 0


def _best(runs: list[Result]) -> Result:
    best = min(runs, key=lambda r: (r.correct is False, r.seconds))
    timed = [r.seconds for r in runs if r.seconds == r.seconds]  # not NaN
    best.median_s = statistics.median(timed) if timed else None
    return best


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dsn", help="SQLAlchemy URL of a PostgreSQL server (default: start one)")
    p.add_argument("--rows", type=int, default=5_000_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--repeat", type=int, default=1, help="runs per method; the fastest is kept")
    p.add_argument("--batch-size", type=int, default=None,
                   help="rows per batch (default: the project's default)")
    p.add_argument("--only", nargs="*", help="run only these methods")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--scope", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p


def _run_child(name: str, scope: str, table: BenchTable, args: argparse.Namespace,
               expected: int) -> Result:
    from bench.methods import METHODS

    with tempfile.TemporaryDirectory(prefix="etl-bench-") as out:
        cmd = [sys.executable, "-m", "bench.extract", "--child", name, "--scope", scope,
               "--out", out, "--rows", str(table.rows), "--days", str(table.days)]
        if args.batch_size:
            cmd += ["--batch-size", str(args.batch_size)]
        env = {**os.environ, **dict(METHODS[name].env), URL_ENV: table.url}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env,
                                cwd=Path(__file__).resolve().parents[1])
        assert proc.stdout is not None
        output = proc.stdout.read().decode()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    rss = usage.ru_maxrss / 1024  # KiB on Linux
    lines = [x for x in output.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
        return Result(name, scope, 0, float("nan"), 0.0, None, rss, 0.0, 0.0, False,
                      "failed (see stderr)")
    data = json.loads(lines[-1])
    rows = expected if data["rows"] < 0 else data["rows"]
    correct = None if data["schema_ok"] is None else data["schema_ok"] and rows == expected
    return Result(name, scope, rows, data["seconds"], rows / data["seconds"], None, rss,
                  data["imports_rss_mib"], data["cpu_s"], correct, data["note"])


def _child(args: argparse.Namespace) -> int:
    from bench.methods import METHODS

    table = BenchTable(url=os.environ[URL_ENV], rows=args.rows, days=args.days)
    spec = METHODS[args.child]
    for module in spec.preload:
        importlib.import_module(module)
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        measured = spec.function(table, args.scope, Path(args.out), args.batch_size)
    except Exception:
        traceback.print_exc()
        return 1
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    schema_ok = None if measured.schema is None else _types_ok(measured.schema)
    print(json.dumps({"rows": measured.rows, "seconds": measured.seconds,
                      "schema_ok": schema_ok, "note": measured.note,
                      "imports_rss_mib": before.ru_maxrss / 1024, "cpu_s": cpu}))
    return 0


def _types_ok(schema: pa.Schema) -> bool:
    amount, tstz = schema.field("amount").type, schema.field("event_tstz").type
    return bool(amount == pa.decimal128(18, 4) and pa.types.is_timestamp(tstz)
                and tstz.tz in UTC_NAMES)


def _add_volume(results: list[Result]) -> None:
    """MB/s from the floor's COPY volume, pro rata by rows for the day scope."""
    floor = next((r for r in results if r.method == "copy-binary-floor"), None)
    if floor is None or not floor.note.endswith("MiB"):
        return
    mib = float(floor.note.split()[0])
    for r in results:
        if r.seconds == r.seconds and r.rows:  # not NaN
            r.mb_per_s = mib * 1.048576 * r.rows / floor.rows / r.seconds


def _report(results: list[Result]) -> str:
    header = (f"{'method':22} {'scope':5} {'rows':>10} {'seconds':>8} {'median':>7} {'rows/s':>10} "
              f"{'MB/s':>7} {'peak RSS MiB':>12} {'(imports)':>9} {'cpu s':>6}  correct  note")
    lines = ["", header, "-" * len(header), *(_line(r) for r in results)]
    project = next((r for r in results if r.method == "project" and r.scope == "full"), None)
    anchors = [r for r in results if r.method in _anchor_names() and r.rows_per_s > 0]
    if project is not None and anchors:
        fastest = max(anchors, key=lambda r: r.rows_per_s)
        lines.append(f"\nproject full / fastest anchor ({fastest.method}): "
                     f"{project.rows_per_s / fastest.rows_per_s:.2f}x")
        if project.median_s and fastest.median_s:
            lines.append(f"  the same on median times: {fastest.median_s / project.median_s:.2f}x")
        floor = next((r for r in results if r.method == "copy-binary-floor"), None)
        if floor is not None and floor.rows_per_s > 0:
            lines.append(f"project full / COPY floor: {project.rows_per_s / floor.rows_per_s:.2f}x")
    return "\n".join(lines)


def _line(r: Result) -> str:
    mb = f"{r.mb_per_s:7.1f}" if r.mb_per_s is not None else f"{'':>7}"
    ok = {True: "yes", False: "NO", None: "n/a"}[r.correct]
    median = f"{r.median_s:7.2f}" if r.median_s is not None else f"{'':>7}"
    return (f"{r.method:22} {r.scope:5} {r.rows:>10,} {r.seconds:8.2f} {median} "
            f"{r.rows_per_s:>10,.0f} "
            f"{mb} {r.peak_rss_mib:12.0f} {r.imports_rss_mib:9.0f} {r.cpu_s:6.1f}  {ok:7}  "
            f"{r.note}")


def _anchor_names() -> set[str]:
    from bench.methods import METHODS

    return {name for name, spec in METHODS.items() if spec.anchor}


def _record(r: Result) -> dict[str, object]:
    record = asdict(r)
    record["rows_per_s"] = round(r.rows_per_s)
    record["seconds"] = round(r.seconds, 3)
    record["median_s"] = None if r.median_s is None else round(r.median_s, 3)
    record["peak_rss_mib"] = round(r.peak_rss_mib, 1)
    record["imports_rss_mib"] = round(r.imports_rss_mib, 1)
    record["cpu_s"] = round(r.cpu_s, 2)
    record["mb_per_s"] = None if r.mb_per_s is None else round(r.mb_per_s, 1)
    return record


if __name__ == "__main__":
    sys.exit(main())
