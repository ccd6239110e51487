"""``etl reconcile TENANT [--from D1 --to D2] [--pipeline P ...] [--heal]``."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from etl.cli.command import Command, day, tenant_id
from etl.config.schedule import MAX_DAYS_PER_RUN
from etl.errors import UsageError


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tenant", type=tenant_id)
    parser.add_argument("--from", dest="first", type=day, metavar="D1",
                        help="first day (default: reconcile.window_days before the last "
                             "complete day)")
    parser.add_argument("--to", dest="last", type=day, metavar="D2",
                        help="last day (default: the last complete day)")
    parser.add_argument("--pipeline", action="append", default=[], metavar="P",
                        help="only this daily pipeline (repeatable)")
    parser.add_argument("--heal", action="store_true",
                        help="then extract, transfer and load the days that differ, in one run")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """0 when every day matches the source (after the heal, with --heal), 1 otherwise."""
    import datetime as dt

    from etl.runs.home import instance
    from etl.runs.launch import QUIET, VERBOSE
    from etl.runs.plan import TenantJobs, backfill_assets
    from etl.runs.preflight import check_variables
    from etl.runs.reconcile import heal, reconcile
    from etl.utils.days import scheduled_days

    stream = out or sys.stdout
    run_config = VERBOSE if args.verbose else QUIET
    if (args.first is None) != (args.last is None):
        raise UsageError("--from and --to go together (without both: the last "
                         "reconcile.window_days complete days)")
    jobs = TenantJobs.load(args.tenant)
    config = jobs.loaded.config
    if args.first is not None:
        span = (args.last - args.first).days + 1
        if span > MAX_DAYS_PER_RUN:  # one reconcile run; Dagster plans a result per day
            raise UsageError(
                f"{span:,} days ({args.first}..{args.last}) in one reconcile run; a run holds "
                f"at most {MAX_DAYS_PER_RUN:,} days (Dagster stores a planned check result per "
                "day in one statement, which SQLite limits): reconcile the range in parts")
        days = jobs.days(args.first, args.last)
    else:
        days = scheduled_days(dt.datetime.now(dt.UTC), config.schedule.timezone,
                              config.schedule.start_date, config.reconcile.window_days)
        if not days:
            raise UsageError(f"no day is complete yet since {config.schedule.start_date}")
    daily = jobs.job("daily_etl_job")
    chosen = backfill_assets(jobs, daily, args.pipeline) or daily.asset_layer.selected_asset_keys
    pipelines = sorted({k.path[-1] for k in chosen})
    check_variables(jobs.loaded)
    with instance() as inst:
        run_id, found = reconcile(inst, jobs, days, pipelines, stream, run_config)
        if found is None:
            return 1
        if not args.heal:
            return 0 if all(f.status == "equal" for f in found) else 1
        plan, ok = heal(inst, jobs, found, run_id, stream, run_config)
        if not ok:
            return 1
        if not plan.days:
            return 0 if all(f.status == "equal" for f in found) else 1
        # The healed days, compared once more: their results now show them equal.
        _, again = reconcile(inst, jobs, [d for d in days if plan.days[0] <= d <= plan.days[-1]],
                             list(plan.pipelines), stream, run_config)
        healed = set(plan.days)
        rest = [f for f in found if f.day not in healed and f.status != "equal"]
        return 0 if again is not None and not rest and all(
            f.status == "equal" for f in again if f.day in healed) else 1


COMMAND = Command(
    "reconcile", "compare the loaded days with the source; --heal repairs those that differ",
    _arguments, run,
    description="Take each day's fingerprint (rows and checksum) at the source again and "
                "compare it with the one recorded when the day was extracted; every day's "
                "result is the matches_source check in Dagster. With --heal, the days that "
                "differ are extracted, transferred and loaded again in one run, then compared "
                "again. Exit status 1 when a day still differs.")
