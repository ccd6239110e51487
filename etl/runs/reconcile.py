"""``etl reconcile``: a reconcile run here, its findings printed, and with ``--heal`` the heal.

The reconcile run is a run of the tenant's ``reconcile_job`` over the days (its code location
recorded, as ``etl run`` records runs), so every day's ``matches_source`` result is in Dagster;
the findings are read back from the run's own events. A heal is one run of ``daily_etl_job``
over the days that differ (:mod:`etl.instance.healing`), followed by one more reconcile run over
those days, whose results show they match again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TextIO

import dagster as dg

from etl import naming
from etl.errors import Interrupted
from etl.instance.healing import DayFinding, HealPlan, findings, plan_heal
from etl.instance.run_failures import failure_causes, was_interrupted
from etl.runs.console import execute as execute_with_progress
from etl.runs.console import span
from etl.runs.launch import QUIET, RunRequest, create_run, execute
from etl.runs.plan import TenantJobs

LISTED = 20  # differing days listed per pipeline


def reconcile(inst: dg.DagsterInstance, jobs: TenantJobs, days: Sequence[str],
              pipelines: Sequence[str], out: TextIO, run_config: Mapping[str, object] = QUIET,
              ) -> tuple[str, list[DayFinding] | None]:
    """One reconcile run over ``days``: its id and findings (None when the run failed)."""
    checks = tuple(naming.check_key(jobs.tenant, "extract", p, naming.SOURCE_CHECK)
                   for p in pipelines)
    request = RunRequest(jobs.location, naming.RECONCILE_JOB, tuple(days), checks=checks,
                         run_config=run_config)
    label = f"{jobs.tenant} reconcile [{span(request.days)}]"
    run = create_run(inst, request)
    out.write(f"{label}: run {run.run_id}\n")
    out.flush()
    started = time.monotonic()
    finished = execute(inst, run)
    seconds = time.monotonic() - started
    if finished.status != dg.DagsterRunStatus.SUCCESS:
        out.write(f"{label}: FAILED in {seconds:.1f}s\n")
        out.writelines(f"  {line}\n" for cause in failure_causes(inst, run.run_id)
                       for line in cause.splitlines())
        out.flush()
        if was_interrupted(inst, run.run_id):
            raise Interrupted(f"run {run.run_id} ({jobs.tenant} reconcile) was interrupted; no "
                              "further run is started")
        return run.run_id, None
    found = findings(inst, run.run_id)
    out.write(f"{label}: {len({f.pipeline for f in found})} pipeline(s), {len(found):,} "
              f"day(s) checked — ok in {seconds:.1f}s\n")
    out.write(report(found))
    out.flush()
    return run.run_id, found


def report(found: Sequence[DayFinding]) -> str:
    """Per pipeline: days checked, equal, differing (source rows now vs rows loaded)."""
    lines = []
    for pipeline in sorted({f.pipeline for f in found}):
        mine = [f for f in found if f.pipeline == pipeline]
        odd = [f for f in mine if f.status != "equal"]
        changing = sum(f.status == "changing" for f in odd)
        lines.append(f"  {pipeline:24} {len(mine):>6,} day(s) checked, "
                     f"{len(mine) - len(odd):,} equal, {len(odd):,} differ"
                     + (f" ({changing:,} still changing)" if changing else ""))
        lines.extend(f"    {f.day}  {f.status:8}  {f.source_rows:,} row(s) at the source now, "
                     f"{f.loaded_rows:,} loaded" for f in odd[:LISTED])
        if len(odd) > LISTED:
            lines.append(f"    ... and {len(odd) - LISTED:,} more day(s)")
    return "".join(f"{line}\n" for line in lines)


def heal(inst: dg.DagsterInstance, jobs: TenantJobs, found: Sequence[DayFinding],
         reconcile_run_id: str, out: TextIO, run_config: Mapping[str, object] = QUIET,
         ) -> tuple[HealPlan, bool]:
    """One run of the days that differ; whether it succeeded (True when there is none)."""
    config = jobs.loaded.config.reconcile
    plan = plan_heal(found, config.max_days_per_heal)
    for f in plan.changing:
        out.write(f"  not healed: {f.pipeline} {f.day} is still being written ({f.text})\n")
    if plan.left:
        out.write(f"  {len(plan.left):,} more day(s) differ beyond reconcile.max_days_per_heal "
                  f"({config.max_days_per_heal}); the next heal takes them\n")
    if not plan.days:
        out.write(f"{jobs.tenant}: no day to heal\n")
        return plan, True
    job = jobs.job(naming.DAILY_ETL_JOB)
    request = RunRequest(jobs.location, naming.DAILY_ETL_JOB, plan.days,
                         tuple(plan.assets(list(job.asset_layer.selected_asset_keys))),
                         checks=(), tags=plan.tags(reconcile_run_id), by_partition=False,
                         run_config=run_config)
    out.write(f"{jobs.tenant}: healing {len(plan.days):,} day(s) of "
              f"{', '.join(plan.pipelines)} in one run\n")
    return plan, execute_with_progress(inst, jobs, request, out, indent="  ")
