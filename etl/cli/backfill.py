"""``etl backfill TENANT --from D1 --to D2 [--pipeline P] [--stage S] [--submit [--wait]]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TextIO

import dagster as dg

from etl import naming
from etl.cli.command import Command, day, tenant_id
from etl.config.schedule import MAX_DAYS_PER_RUN
from etl.errors import UsageError


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tenant", type=tenant_id)
    parser.add_argument("--from", dest="first", type=day, required=True, metavar="D1")
    parser.add_argument("--to", dest="last", type=day, required=True, metavar="D2")
    parser.add_argument("--pipeline", action="append", default=[], metavar="P",
                        help="only this daily pipeline (repeatable)")
    parser.add_argument("--stage", choices=naming.STAGES,
                        help="only this stage (its job, e.g. load_job)")
    parser.add_argument("--days-per-run", type=days_per_run, metavar="N",
                        help="split into runs of at most N days, 1 to "
                             f"{MAX_DAYS_PER_RUN:,} (default: the tenant's "
                             "backfill.days_per_run, else one run)")
    parser.add_argument("--submit", action="store_true",
                        help="hand the range to a running dagster-daemon as a backfill")
    parser.add_argument("--wait", action="store_true",
                        help="with --submit: print progress until the daemon is done")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from etl.runs.console import execute
    from etl.runs.home import instance
    from etl.runs.launch import VERBOSE
    from etl.runs.plan import TenantJobs, plan_backfill
    from etl.runs.preflight import check_variables

    stream = out or sys.stdout
    if args.submit and args.days_per_run is not None:
        raise UsageError("--days-per-run applies to runs made here; with --submit the daemon "
                         "splits the backfill by the tenant's backfill.days_per_run (config)")
    if args.wait and not args.submit:
        raise UsageError("--wait goes with --submit")
    jobs = TenantJobs.load(args.tenant)
    check_run_size(args, jobs.loaded.config.backfill.days_per_run)
    requests = plan_backfill(jobs, args.first, args.last, args.pipeline, args.stage,
                             args.days_per_run)
    if args.verbose:
        requests = [replace(r, run_config=VERBOSE) for r in requests]
    if not args.submit:  # a submitted run reads the variables of the deployment's processes
        check_variables(jobs.loaded)
    with instance() as inst:
        if args.submit:
            return _submit(inst, jobs, requests, args.wait, stream)
        failed = sum(not execute(inst, jobs, request, stream) for request in requests)
    return 1 if failed else 0


def days_per_run(text: str) -> int:
    """``--days-per-run``: a whole number of days from 1 to the most a run may hold."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_DAYS_PER_RUN:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of days from 1 to {MAX_DAYS_PER_RUN:,}")
    return value


def check_run_size(args: argparse.Namespace, configured: int | None) -> None:
    """A range in runs of at most :data:`MAX_DAYS_PER_RUN` days, or a one-line refusal
    saying how to split it (a larger run fails in Dagster's SQLite storage)."""
    span = (args.last - args.first).days + 1
    size = args.days_per_run or configured or span
    if size <= MAX_DAYS_PER_RUN:
        return
    how = ("set backfill.days_per_run in the tenant's config (the daemon splits by it)"
           if args.submit else
           f"pass --days-per-run N (1 to {MAX_DAYS_PER_RUN:,}) or set backfill.days_per_run")
    raise UsageError(
        f"{span:,} days ({args.first}..{args.last}) in one run; a run holds at most "
        f"{MAX_DAYS_PER_RUN:,} days (Dagster stores a planned check result per day in one "
        f"statement, which SQLite limits): {how}")


def _submit(inst: dg.DagsterInstance, jobs: Any, requests: Sequence[Any], wait: bool,
            out: TextIO) -> int:
    from etl.runs.plan import run_assets
    from etl.runs.submit import submit_backfill, wait_for_backfill

    days = [d for r in requests for d in (r.days or ())]
    keys = run_assets(jobs, requests[0])
    backfill_id = submit_backfill(inst, jobs, requests[0].job, days, requests[0].assets)
    out.write(f"{jobs.tenant}: backfill {backfill_id} of {requests[0].job}, {len(days)} day(s), "
              f"submitted; the daemon runs it (the UI shows it on the job's Partitions page "
              f"and under Runs > Backfills)\n")
    if not wait:
        return 0
    return 0 if wait_for_backfill(inst, backfill_id, keys, len(days), out) else 1


COMMAND = Command(
    "backfill", "load a range of days: here, or by the daemon with --submit", _arguments, run,
    description="Extract, transfer and load every day from --from to --to (inclusive) in "
                "range runs of backfill.days_per_run days (default: one run), each day "
                "replaced, never duplicated.")
