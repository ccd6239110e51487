"""The three alerts, written from what the instance recorded.

* a failed run: its job, run id, days, the days that failed and why (the failed steps' own
  messages, first lines, redacted);
* a failed blocking check: the check, its asset, the day and the counts it recorded
  (``failing_rows`` and the like) — never a sample: the sampled primary keys are data;
* a day that missed its freshness deadline: the pipeline, the day, the deadline and whether
  it arrived late or not at all.

Each has a ``key`` naming its event (the run; the check result's storage id), the unit of
deduplication.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import dagster as dg

from etl import naming
from etl.alerts.base import AlertMessage
from etl.utils.logging import redact

MAX_REASONS: Final = 5
MAX_REASON_CHARS: Final = 400
COUNTS: Final = ("failing_rows", "rows", "min", "max", "parquet_rows", "warehouse_rows")
"""Check metadata an alert may carry: counts only. Samples and values never leave the UI."""
_DAY = r"\d{4}-\d{2}-\d{2}"
_DAYS = re.compile(rf"^\w+ of \S+ \[(?:\d+ days: )?({_DAY}(?:\.\.{_DAY})?)\]: ")
"""A stage failure's head: ``extract of t/p [2026-03-02]: `` or ``[3 days: D1..D3]: ``."""


def run_days(tags: Mapping[str, str]) -> str | None:
    """The run's day or range of days (``D1..D2``), from its partition tags."""
    if naming.PARTITION_TAG in tags:
        return tags[naming.PARTITION_TAG]
    start, end = tags.get(naming.RANGE_START_TAG), tags.get(naming.RANGE_END_TAG)
    if start and end:
        return start if start == end else f"{start}..{end}"
    return None


def failure_items(causes: Sequence[str]) -> list[str]:
    """One line per failed pipeline stage (``extract of t/p [day]: Error: ...``), else the
    first line of each cause."""
    items = [line.strip()[2:] for cause in causes for line in cause.splitlines()
             if line.strip().startswith("- ")]
    return items or [cause.strip().splitlines()[0] for cause in causes if cause.strip()]


def failed_days(items: Sequence[str], days: str | None) -> list[str]:
    """The days the failures name; an item naming none failed the run's whole span."""
    found: list[str] = []
    for item in items:
        match = _DAYS.match(item)
        named = match.group(1) if match else days
        if named and named not in found:
            found.append(named)
    return found


def run_failed(run: dg.DagsterRun, causes: Sequence[str], fallback: str | None,
               tenant: str, ui_url: str | None, secrets: Sequence[str]) -> AlertMessage:
    """The alert for a failed run; ``causes`` are its failed steps' messages, ``fallback``
    the run failure's own message (a run that died without a step failing)."""
    days = run_days(run.tags)
    items = failure_items(causes) or ([fallback] if fallback else [])
    failed = failed_days(items, days)
    reasons = [_short(redact(item, secrets)) for item in items[:MAX_REASONS]]
    if len(items) > MAX_REASONS:
        reasons.append(f"... and {len(items) - MAX_REASONS} more (see the run)")
    lines = [f"Run: {run.run_id}"]
    if days:
        lines.append(f"Days of the run: {days}")
    if failed:
        lines.append(f"Failed days: {', '.join(failed)}")
    lines += ["Reason:", *(f"  {r}" for r in reasons)]
    return AlertMessage(
        "run_failed", f"run.{run.run_id}", tenant,
        f"[{tenant}] run failed: {run.job_name}" + (f" [{days}]" if days else ""),
        tuple(lines),
        {"job": run.job_name, "run_id": run.run_id, "days": days, "failed_days": failed,
         "reason": reasons},
        f"{ui_url}/runs/{run.run_id}" if ui_url else None)


def check_failed(tenant: str, check: dg.AssetCheckKey, day: str | None, storage_id: int,
                 evaluation: dg.AssetCheckEvaluation | None, run_id: str | None,
                 ui_url: str | None) -> AlertMessage:
    """The alert for a failed check result: a blocking check, or a missed deadline."""
    asset = check.asset_key.to_user_string()
    meta = _plain(evaluation.metadata if evaluation is not None else {})
    key = f"check.{asset}.{check.name}.{day or 'latest'}.{storage_id}"
    link = f"{ui_url}/assets/{asset}?view=checks" if ui_url else None
    where = f" [{day}]" if day else ""
    if check.name == naming.FRESHNESS_CHECK:
        pipeline = check.asset_key.path[-1]
        late = meta.get("late_by_minutes")
        state = (f"loaded {late} min late" if isinstance(late, int) else "not loaded by then")
        return AlertMessage(
            "freshness_missed", key, tenant,
            f"[{tenant}] {pipeline} missed its deadline{where}",
            (f"Day: {day}", f"Deadline: {meta.get('deadline', '?')}", f"State: {state}",
             f"Asset: {asset}"),
            {"pipeline": pipeline, "asset": asset, "day": day,
             "deadline": meta.get("deadline"), "state": meta.get("state"),
             "late_by_minutes": late},
            link)
    counts = {k: meta[k] for k in COUNTS if isinstance(meta.get(k), int)}
    lines = [f"Asset: {asset}", f"Check: {check.name}", f"Day: {day or 'master data'}"]
    lines += [f"{k.replace('_', ' ').capitalize()}: {v:,}" for k, v in counts.items()]
    if run_id:
        lines.append(f"Run: {run_id}")
    return AlertMessage(
        "check_failed", key, tenant,
        f"[{tenant}] blocking check failed: {check.name} on {asset}{where}", tuple(lines),
        {"asset": asset, "check": check.name, "day": day, **counts, "run_id": run_id or None},
        link)


def _plain(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata values as plain ints and strings (Dagster wraps them)."""
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON_CHARS else f"{line[:MAX_REASON_CHARS - 3]}..."
