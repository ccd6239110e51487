"""A readable snapshot of every definition the sample tenants and ``etl.all`` produce.

``tests/unit/test_definitions_snapshot.py`` compares the definitions with
``tests/snapshots/definitions.txt``; after an intended change, rewrite the file with
``.venv/bin/python -m tests.snapshot`` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "definitions.txt"
LOCATIONS = ("etl.default", "etl.project_01", "etl.all")


def _partitions(p: dg.PartitionsDefinition[str] | None) -> str:
    if p is None:
        return "none"
    if isinstance(p, dg.DailyPartitionsDefinition):
        return f"daily from {p.start.date().isoformat()} in {p.timezone}"
    return type(p).__name__


def describe(defs: dg.Definitions) -> list[str]:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    lines: list[str] = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.path):
        node = graph.get(key)
        deps = ", ".join(sorted(p.to_user_string() for p in node.parent_keys)) or "-"
        policy = node.backfill_policy
        backfill = ("-" if policy is None else "single run" if policy.max_partitions_per_run
                    is None else f"runs of {policy.max_partitions_per_run}")
        lines.append(
            f"asset {key.to_user_string()}  group={node.group_name}  "
            f"kinds={','.join(sorted(node.kinds))}  partitions={_partitions(node.partitions_def)}"
            f"  backfill={backfill}  deps={deps}"
        )
    for check in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.path, k.name)):
        spec = graph.get_check_spec(check)
        lines.append(f"check {check.asset_key.to_user_string()}:{check.name}  "
                     f"blocking={spec.blocking}  partitions={_partitions(spec.partitions_def)}")
    for job in sorted(repo.get_all_jobs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        selected = job.asset_layer.selected_asset_keys
        lines.append(f"job {job.name}  assets={len(selected)}  "
                     f"partitions={_partitions(job.partitions_def)}")
    lines.extend(
        f"schedule {s.name}  job={s.job_name}  cron={s.cron_schedule!r}  "
        f"zone={s.execution_timezone}  default={s.default_status.value}"
        for s in sorted(repo.schedule_defs, key=lambda s: s.name)
    )
    lines.extend(f"sensor {s.name}  default={s.default_status.value}"
                 for s in sorted(repo.sensor_defs, key=lambda s: s.name))
    return lines


def render() -> str:
    import importlib

    out: list[str] = []
    for module in LOCATIONS:
        defs = importlib.import_module(module).defs()
        out.append(f"== {module}")
        out.extend(describe(defs))
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    SNAPSHOT.write_text(render(), encoding="utf-8")
    print(f"wrote {SNAPSHOT}")
