"""Hostile config files: every one is answered within 2 s and 200 MiB, with an error or a config.

The files are generated (alias bombs of growing size, deep nesting, huge scalars, duplicate
keys at depth, floods of unknown keys or pipelines, each as large as the size limit allows,
5,000 pipelines, the most pipelines a tenant may have, and 1 MiB files past the limit) and
loaded in a fresh process, each in its own tenants folder, which reports each file's time and
the growth of its peak RSS (getrusage). A last measurement loads a small tenant beside all of
them, since every tenant's location reads its siblings' configs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from etl.config.pipeline import MAX_PIPELINES
from etl.config.yaml_lines import MAX_DEPTH, MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 2.0
MIB = 200
HEADER = """tenant: {{id: {tenant}, name: Hostile {tenant}}}
source: {{url: "sqlite:///source.db"}}
storage: {{root: lake}}
warehouse: {{type: duckdb}}
schedule: {{start_date: 2026-01-01}}
"""

MEASURE = """
import json, resource, sys, time, tracemalloc
from pathlib import Path
from etl.config.config_loader import load_tenant_config
from etl.config.errors import ConfigError

def load(tenant):
    try:
        load_tenant_config(tenant, root / tenant)
        return "ok"
    except ConfigError as e:
        return str(e)

def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

root = Path(sys.argv[1])
load("warm_up")  # imports and first-use caches
baseline = rss_mib()
for tenant in sys.argv[2:]:
    started = time.perf_counter()
    outcome = load(tenant)
    seconds = time.perf_counter() - started
    tracemalloc.start()  # a second, traced load: the peak of this file's allocations alone
    load(tenant)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(json.dumps({"tenant": tenant, "seconds": seconds, "traced_mib": traced,
                      "rss_growth_mib": rss_mib() - baseline, "peak_mib": rss_mib(),
                      "outcome": outcome if len(outcome) < 3000 else (
                          outcome[:1500] + outcome[-1500:]),
                      "outcome_chars": len(outcome)}))
"""
"""Per file: seconds (untraced), the traced peak of its allocations, and how far the process's
peak RSS has grown since the imports (a maximum over this file and the ones before it)."""


def header(tenant: str) -> str:
    return HEADER.format(tenant=tenant)


def alias_bomb(levels: int) -> Callable[[str], str]:
    def make(tenant: str) -> str:
        lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
        return header(tenant) + "tags:\n" + "".join(f"  {line}\n" for line in lines)
    return make


def deep_flow(tenant: str) -> str:
    depth = (MAX_FILE_BYTES - 400) // 2
    return header(tenant) + "tags: " + "[" * depth + "]" * depth + "\n"


def deep_block(tenant: str) -> str:
    body = "".join(f"{'  ' * i}k{i}:\n" for i in range(1, 400))
    return header(tenant) + "tags:\n" + body


def huge_scalar(tenant: str) -> str:
    text = header(tenant).replace(f"Hostile {tenant}", "x" * (MAX_FILE_BYTES - 400))
    return text


def huge_url(tenant: str) -> str:
    return header(tenant).replace("sqlite:///source.db", "y" * (MAX_FILE_BYTES - 400))


def duplicates_at_depth(tenant: str) -> str:
    block = "".join("        site: one\n" for _ in range((MAX_FILE_BYTES - 600) // 18))
    return header(tenant) + "tags:\n  a:\n    b:\n      c:\n" + block


def unknown_keys(tenant: str) -> str:
    keys = "".join(f"k{i}: 1\n" for i in range((MAX_FILE_BYTES - 400) // 10))
    return header(tenant) + keys


def many_pipelines(tenant: str) -> str:
    entry = ("    - {{name: p{i}, table: t{i}, date_column: updated_at, primary_key: [id], "
             "has_transfer: true, save_to_trino: true}}\n")
    count = (MAX_FILE_BYTES - 400) // len(entry.format(i=99999))
    return header(tenant) + "assets:\n  pipelines:\n" + "".join(
        entry.format(i=i) for i in range(count))


def thousands_of_pipelines(tenant: str) -> str:
    """5,000 short pipelines (as many as fit 256 KiB in a short form): refused by count."""
    entry = "    - {{name: p{i}, table: t{i}, date_column: d}}\n"
    return header(tenant) + "assets:\n  pipelines:\n" + "".join(
        entry.format(i=i) for i in range(5_000))


def pipelines_at_the_limit(tenant: str) -> str:
    """As many full pipelines as a tenant may have (the 3 inherited common ones included)."""
    entry = ("    - {{name: p{i}, table: t{i}, date_column: updated_at, primary_key: [id], "
             "has_transfer: true, save_to_trino: true}}\n")
    return header(tenant) + "assets:\n  pipelines:\n" + "".join(
        entry.format(i=i) for i in range(MAX_PIPELINES - 3))


def over_the_limit(tenant: str) -> str:
    return header(tenant) + "#" * MAX_FILE_BYTES + "\n"


def megabyte(make: Callable[[str], str]) -> Callable[[str], str]:
    """``make``'s file grown to 1 MiB, past the limit."""
    def grown(tenant: str) -> str:
        text = make(tenant)
        return text + "#" * max(0, 1_048_576 - len(text.encode()) - 1) + "\n"
    return grown


CASES: dict[str, tuple[Callable[[str], str], str]] = {
    **{f"alias_bomb_{n}": (alias_bomb(n), "anchors and aliases") for n in (2, 5, 9, 12)},
    "deep_flow": (deep_flow, f"nested deeper than {MAX_DEPTH} levels"),
    "deep_block": (deep_block, f"nested deeper than {MAX_DEPTH} levels"),
    "huge_scalar": (huge_scalar, "ok"),
    "huge_url": (huge_url, "not a SQLAlchemy URL"),
    "duplicates_at_depth": (duplicates_at_depth, "key 'site' appears twice"),
    "unknown_keys": (unknown_keys, "more problems; fix these first"),
    "many_pipelines": (many_pipelines, f"a tenant may have at most {MAX_PIPELINES}"),
    "thousands_of_pipelines": (thousands_of_pipelines, (
        "config.yaml:7: assets.pipelines: 5,003 pipelines (inherited ones included); a tenant "
        "may have at most 500, since its code location builds every pipeline's assets and "
        "checks when it loads: split the site into several tenants")),
    "pipelines_at_the_limit": (pipelines_at_the_limit, "ok"),
    "over_the_limit": (over_the_limit, f"a config may have at most {MAX_FILE_BYTES:,} bytes"),
    **{f"{name}_1mib": (megabyte(make), f"a config may have at most {MAX_FILE_BYTES:,} bytes")
       for name, make in (("many_pipelines", many_pipelines), ("unknown_keys", unknown_keys),
                          ("alias_bomb", alias_bomb(9)))},
}


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    root = tmp_path_factory.mktemp("hostile")
    beside = root / "beside" / "beside"  # a small tenant next to every hostile file
    for tenant, (make, _) in {**CASES, "warm_up": (header, "ok")}.items():
        for folder in (root / tenant / tenant, beside.parent / tenant):
            folder.mkdir(parents=True)
            (folder / "config.yaml").write_text(make(tenant), encoding="utf-8")
    beside.mkdir()
    (beside / "config.yaml").write_text(header("beside"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", MEASURE, str(root), *CASES, "beside"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return {row["tenant"]: row for row in rows}


@pytest.mark.parametrize("case", [*sorted(CASES), "beside"])
def test_hostile_file_is_answered_within_bounds(
    measured: dict[str, dict[str, object]], case: str
) -> None:
    row = measured[case]
    outcome = str(row["outcome"])
    expected = CASES[case][1] if case in CASES else "ok"
    assert (outcome == "ok") if expected == "ok" else (expected in outcome), outcome[:500]
    assert float(str(row["seconds"])) < SECONDS, row
    assert float(str(row["traced_mib"])) < MIB, row
    assert float(str(row["rss_growth_mib"])) < MIB, row
    assert int(str(row["outcome_chars"])) < 20_000  # an error is read by a person
    print(f"{case}: {float(str(row['seconds'])):.2f} s, {float(str(row['traced_mib'])):.0f} MiB "
          f"allocated at peak (process peak RSS {float(str(row['peak_mib'])):.0f} MiB)")


def test_the_cases_are_as_large_as_they_claim() -> None:
    for case in ("deep_flow", "huge_scalar", "unknown_keys", "many_pipelines",
                 "thousands_of_pipelines"):
        size = len(CASES[case][0](case).encode())
        assert MAX_FILE_BYTES * 0.9 < size <= MAX_FILE_BYTES, (case, size)
    for case in [c for c in CASES if c.endswith("_1mib")]:
        assert len(CASES[case][0](case).encode()) == 1_048_576, case
    sizes = [len(CASES[f"alias_bomb_{n}"][0]("x")) for n in (2, 5, 9, 12)]
    assert sizes == sorted(sizes) and 9 ** 12 > 10 ** 11  # expanded: 9^12 strings
