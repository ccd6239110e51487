"""Schedules from the tenant's ``schedule`` block.

The daily schedule accepts any cron (not only the partition's own midnight tick): at each tick
it requests the last complete day as of the scheduled time, in the tenant's time zone, and with
``lookback_days: N`` the N days ending there, as one range run, so rows that arrived or changed
late in those days are picked up (each day is replaced, never duplicated).
"""


import datetime as dt
from collections.abc import Mapping

import dagster as dg

from etl import naming
from etl.config.tenant_config import ReconcileConfig, ScheduleConfig
from etl.utils.days import scheduled_days


def build_schedules(
    tenant: str,
    schedule: ScheduleConfig,
    jobs: Mapping[str, dg.JobDefinition],
    qualified: bool,
    reconcile: ReconcileConfig | None = None,
) -> list[dg.ScheduleDefinition]:
    status = (
        dg.DefaultScheduleStatus.RUNNING if schedule.enabled else dg.DefaultScheduleStatus.STOPPED
    )
    out: list[dg.ScheduleDefinition] = []
    daily = jobs.get(naming.DAILY_ETL_JOB)
    covers = ("the last complete day" if schedule.lookback_days == 1 else
              f"the last {schedule.lookback_days} complete days, as one range run")
    if daily is not None:

        @dg.schedule(
            name=naming.job_name(tenant, naming.DAILY_SCHEDULE, qualified=qualified),
            job=daily,
            cron_schedule=schedule.cron,
            execution_timezone=schedule.timezone,
            default_status=status,
            description=f"[{tenant}] daily_etl_job for {covers}.",
        )
        def _daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
            now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
            days = scheduled_days(now, schedule.timezone, schedule.start_date,
                                  schedule.lookback_days)
            if not days:
                return dg.SkipReason("no complete day since the partition start date")
            if len(days) == 1:
                return dg.RunRequest(run_key=days[0], partition_key=days[0])
            return dg.RunRequest(run_key=f"{days[0]}...{days[-1]}", tags={
                naming.RANGE_START_TAG: days[0], naming.RANGE_END_TAG: days[-1]})

        out.append(_daily)
    master = jobs.get(naming.MASTER_SYNC_JOB)
    if master is not None and schedule.master_sync_cron:
        out.append(dg.ScheduleDefinition(
            name=naming.job_name(tenant, naming.MASTER_SCHEDULE, qualified=qualified),
            job=master,
            cron_schedule=schedule.master_sync_cron,
            execution_timezone=schedule.timezone,
            default_status=status,
        ))
    checks = jobs.get(naming.RECONCILE_JOB)
    if checks is not None and reconcile is not None:
        out.append(_reconcile(tenant, schedule, reconcile, checks, status, qualified))
    return out


def _reconcile(tenant: str, schedule: ScheduleConfig, reconcile: ReconcileConfig,
               job: dg.JobDefinition, status: dg.DefaultScheduleStatus, qualified: bool
               ) -> dg.ScheduleDefinition:
    """``reconcile_job`` over the last ``reconcile.window_days`` complete days, one run."""

    @dg.schedule(
        name=naming.job_name(tenant, naming.RECONCILE_SCHEDULE, qualified=qualified),
        job=job, cron_schedule=reconcile.cron, execution_timezone=schedule.timezone,
        default_status=status,
        description=f"[{tenant}] reconcile_job over the last {reconcile.window_days} complete "
                    "days" + (", then a heal run of the days that differ" if reconcile.heal
                              else ""),
    )
    def _run(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        days = scheduled_days(now, schedule.timezone, schedule.start_date,
                              reconcile.window_days)
        if not days:
            return dg.SkipReason("no complete day since the partition start date")
        return dg.RunRequest(tags={naming.RANGE_START_TAG: days[0],
                                   naming.RANGE_END_TAG: days[-1]})

    return _run
