"""``etl run TENANT JOB [--day D] [--submit [--wait]]``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any, TextIO

import dagster as dg

from etl import naming
from etl.cli.command import Command, day, tenant_id
from etl.errors import UsageError


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tenant", type=tenant_id)
    parser.add_argument("job", help="daily_etl_job, extract_job, transfer_job, load_job or "
                                    "master_sync_job")
    parser.add_argument("--day", type=day, help="the day (YYYY-MM-DD) of a daily job")
    parser.add_argument("--submit", action="store_true",
                        help="put the run in a running deployment's queue instead of running "
                             "it here")
    parser.add_argument("--wait", action="store_true",
                        help="with --submit: wait for the run and print its progress")
    parser.add_argument("--full-refresh", action="store_true",
                        help="incremental pipelines read their whole table and replace it")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from etl.runs.console import execute
    from etl.runs.home import instance
    from etl.runs.launch import VERBOSE
    from etl.runs.plan import TenantJobs, plan_run
    from etl.runs.preflight import check_variables

    stream = out or sys.stdout
    if args.wait and not args.submit:
        raise UsageError("--wait goes with --submit")
    jobs = TenantJobs.load(args.tenant)
    request = plan_run(jobs, args.job, args.day)
    if args.full_refresh:
        request = replace(request, tags={**request.tags, naming.FULL_REFRESH_TAG: "true",
                                         naming.REASON_TAG: "full_refresh"})
    if args.verbose:
        request = replace(request, run_config=VERBOSE)
    if not args.submit:  # a submitted run reads the variables of the deployment's processes
        check_variables(jobs.loaded)
    with instance() as inst:
        if args.submit:
            return _submit(inst, jobs, request, args.wait, stream)
        return 0 if execute(inst, jobs, request, stream) else 1


def _submit(inst: dg.DagsterInstance, jobs: Any, request: Any, wait: bool, out: TextIO) -> int:
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


COMMAND = Command(
    "run", "run one job of a tenant here (its schedule's days unless --day)", _arguments, run,
    description="Run a tenant job in this process, recorded in $DAGSTER_HOME with its code "
                "location. Without --day a daily job takes the days its schedule would take "
                "now (the last complete day, or schedule.lookback_days of them).")
