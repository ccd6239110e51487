"""``etl status`` as a table for people or JSON for scripts."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

from etl.status.collect import PipelineStatus

COLUMNS = ("tenant", "pipeline", "last day", "missing", "failed", "failing checks",
           "late", "rows yesterday", "rows in window")


def as_json(statuses: Sequence[PipelineStatus]) -> str:
    return json.dumps([dataclasses.asdict(s) for s in statuses], indent=2)


def as_table(statuses: Sequence[PipelineStatus]) -> str:
    rows = [COLUMNS, *(_row(s) for s in statuses)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]]) + "\n"


def _row(s: PipelineStatus) -> tuple[str, ...]:
    failed = ", ".join(f"{stage} {_days(days)}" for stage, days in s.failed.items())
    checks = ", ".join(f"{name} {_days(days)}" for name, days in s.failing_checks.items())
    return (s.tenant, s.pipeline, s.last_day or "never", _days(s.missing) or "0",
            failed or "0", checks or "-", _days(s.freshness_missed) or "-",
            "-" if s.rows_yesterday is None else f"{s.rows_yesterday:,}", f"{s.rows_window:,}")


def _days(days: Sequence[str]) -> str:
    """``2`` days as ``2 (12-03, 12-05)``; more than three as a count and the span."""
    if not days:
        return ""
    if len(days) <= 3:
        return f"{len(days)} ({', '.join(d[5:] for d in days)})"
    return f"{len(days)} ({days[0][5:]}..{days[-1][5:]})"
