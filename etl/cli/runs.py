"""``etl run TENANT JOB [--day D]`` and ``etl backfill TENANT --from D1 --to D2 ...``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import dagster as dg

from etl import naming

COMMANDS = ("run", "backfill")


def add_commands(sub: Any) -> None:
    run = sub.add_parser(
        "run", help="run one job of a tenant here (its schedule's days unless --day)",
        description="Run a tenant job in this process, recorded in $DAGSTER_HOME with its code "
                    "location. Without --day a daily job takes the days its schedule would take "
                    "now (the last complete day, or schedule.lookback_days of them).")
    run.add_argument("tenant")
    run.add_argument("job", help="daily_etl_job, extract_job, transfer_job, load_job or "
                                 "master_sync_job")
    run.add_argument("--day", type=_day, help="the day (YYYY-MM-DD) of a daily job")
    run.add_argument("--submit", action="store_true",
                     help="put the run in a running deployment's queue instead of running it here")
    run.add_argument("--wait", action="store_true",
                     help="with --submit: wait for the run and print its progress")
    backfill = sub.add_parser(
        "backfill", help="load a range of days: here, or by the daemon with --submit",
        description="Extract, transfer and load every day from --from to --to (inclusive) in "
                    "range runs of backfill.days_per_run days (default: one run), each day "
                    "replaced, never duplicated.")
    backfill.add_argument("tenant")
    backfill.add_argument("--from", dest="first", type=_day, required=True, metavar="D1")
    backfill.add_argument("--to", dest="last", type=_day, required=True, metavar="D2")
    backfill.add_argument("--pipeline", action="append", default=[], metavar="P",
                          help="only this daily pipeline (repeatable)")
    backfill.add_argument("--stage", choices=naming.STAGES,
                          help="only this stage (its job, e.g. load_job)")
    backfill.add_argument("--days-per-run", type=int, metavar="N",
                          help="split into runs of at most N days (default: the tenant's "
                               "backfill.days_per_run, else one run)")
    backfill.add_argument("--submit", action="store_true",
                          help="hand the range to a running dagster-daemon as a backfill")
    backfill.add_argument("--wait", action="store_true",
                          help="with --submit: print progress until the daemon is done")


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day; use YYYY-MM-DD") from None


def run_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from etl.runs.console import execute
    from etl.runs.home import instance
    from etl.runs.plan import TenantJobs, plan_backfill, plan_run

    stream = out or sys.stderr
    if args.command == "backfill" and args.submit and args.days_per_run is not None:
        raise ValueError("--days-per-run applies to runs made here; with --submit the daemon "
                         "splits the backfill by the tenant's backfill.days_per_run (config)")
    if getattr(args, "wait", False) and not args.submit:
        raise ValueError("--wait goes with --submit")
    jobs = TenantJobs.load(args.tenant)
    if args.command == "run":
        requests = [plan_run(jobs, args.job, args.day)]
    else:
        requests = plan_backfill(jobs, args.first, args.last, args.pipeline, args.stage,
                                 args.days_per_run)
    with instance() as inst:
        if args.command == "backfill" and args.submit:
            return _submit(inst, jobs, requests, args.wait, stream)
        if args.command == "run" and args.submit:
            return _submit_run(inst, jobs, requests[0], args.wait, stream)
        failed = 0
        for request in requests:
            failed += not execute(inst, jobs, request, stream)
    return 1 if failed else 0


def _submit_run(inst: dg.DagsterInstance, jobs: Any, request: Any, wait: bool,
                out: TextIO) -> int:
    from etl.runs.plan import run_assets
    from etl.runs.progress import RunWatcher
    from etl.runs.submit import submit_run, wait_for_run

    run = submit_run(inst, request)
    out.write(f"{jobs.tenant} {request.job}: run {run.run_id} queued for the daemon\n")
    if not wait:
        return 0
    watcher = RunWatcher(inst, f"{jobs.tenant} {request.job}", run_assets(jobs, request),
                         len(request.days or ()), out)
    watcher.start(run)
    finished = wait_for_run(inst, run.run_id)
    ok = finished.status == dg.DagsterRunStatus.SUCCESS
    watcher.finish("ok" if ok else finished.status.value)
    return 0 if ok else 1


def _submit(inst: dg.DagsterInstance, jobs: Any, requests: Sequence[Any], wait: bool,
            out: TextIO) -> int:
    from etl.runs.plan import run_assets
    from etl.runs.submit import submit_backfill, wait_for_backfill

    days = [d for r in requests for d in (r.days or ())]
    keys = run_assets(jobs, requests[0])
    backfill_id = submit_backfill(inst, jobs, days, sorted(keys, key=lambda k: list(k.path)))
    out.write(f"{jobs.tenant}: backfill {backfill_id} of {len(days)} day(s) submitted; the "
              f"daemon runs it (the UI shows it under Runs > Backfills)\n")
    if not wait:
        return 0
    return 0 if wait_for_backfill(inst, backfill_id, keys, len(days), out) else 1
