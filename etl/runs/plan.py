"""Which runs a command means: a job for a day, or a backfill of days split into runs.

Everything is checked against the tenant's own definitions before any run is created: the job
exists, days are real partitions (not before ``start_date``, not a day that is not complete
yet), pipelines and stages exist, so a typo is an error naming what is allowed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from etl import naming
from etl.config.config_loader import LoadedTenant, load_tenant_config
from etl.errors import UsageError
from etl.runs.launch import CodeLocation, RunRequest
from etl.utils.days import day_range, scheduled_days


class PlanError(UsageError):
    """The command asks for something the tenant does not have; the message says what it has."""


@dataclass(frozen=True)
class TenantJobs:
    """A tenant's definitions, as its code location builds them."""

    loaded: LoadedTenant
    defs: dg.Definitions
    location: CodeLocation

    @classmethod
    def load(cls, tenant: str) -> TenantJobs:
        from etl.factories.definitions_factory import tenant_definitions

        loaded = load_tenant_config(tenant)
        return cls(loaded, tenant_definitions(loaded, qualified=False),
                   CodeLocation.of_tenant(tenant))

    @property
    def tenant(self) -> str:
        return self.loaded.tenant_id

    def job(self, name: str) -> dg.JobDefinition:
        names = sorted(j.name for j in self.defs.resolve_all_job_defs()
                       if not j.name.startswith("__"))
        if name not in names:
            raise PlanError(f"tenant {self.tenant!r} has no job {name!r}; its jobs: {names}")
        return self.defs.resolve_job_def(name)

    def days(self, first: dt.date, last: dt.date) -> list[str]:
        """The days from ``first`` to ``last``, which must be complete partitions."""
        schedule = self.loaded.config.schedule
        if last < first:
            raise PlanError(f"--to {last} is before --from {first}")
        if first < schedule.start_date:
            raise PlanError(f"{first} is before the tenant's schedule.start_date "
                            f"{schedule.start_date}; the first day is {schedule.start_date}")
        now = dt.datetime.now(dt.UTC)
        latest = scheduled_days(now, schedule.timezone, schedule.start_date)
        if not latest or last.isoformat() > latest[-1]:
            last_day = latest[-1] if latest else "none yet"
            raise PlanError(f"{last} is not a complete day yet in {schedule.timezone}; "
                            f"the last complete day is {last_day}")
        return day_range(first, last)


def plan_run(jobs: TenantJobs, job_name: str, day: dt.date | None) -> RunRequest:
    """``etl run``: the job for ``day``, or for what its schedule would take now."""
    job = jobs.job(job_name)
    if job.partitions_def is None:
        if day is not None:
            raise PlanError(f"job {job_name!r} is not partitioned (master data); omit --day")
        return RunRequest(jobs.location, job_name)
    if day is not None:
        return RunRequest(jobs.location, job_name, tuple(jobs.days(day, day)))
    schedule = jobs.loaded.config.schedule
    days = scheduled_days(dt.datetime.now(dt.UTC), schedule.timezone, schedule.start_date,
                          schedule.lookback_days)
    if not days:
        raise PlanError(f"no day is complete yet since {schedule.start_date}")
    return RunRequest(jobs.location, job_name, tuple(days))


def plan_backfill(
    jobs: TenantJobs,
    first: dt.date,
    last: dt.date,
    pipelines: Sequence[str] = (),
    stage: naming.Stage | None = None,
    days_per_run: int | None = None,
) -> list[RunRequest]:
    """``etl backfill``: the days split into runs of at most ``days_per_run`` (config default)."""
    job_name = naming.stage_job_name(stage) if stage else naming.DAILY_ETL_JOB
    job = jobs.job(job_name)
    assets = backfill_assets(jobs, job, pipelines)
    days = jobs.days(first, last)
    size = days_per_run or jobs.loaded.config.backfill.days_per_run or len(days)
    return [RunRequest(jobs.location, job_name, tuple(days[i:i + size]), assets)
            for i in range(0, len(days), size)]


def backfill_assets(jobs: TenantJobs, job: dg.JobDefinition,
                    pipelines: Sequence[str]) -> tuple[dg.AssetKey, ...] | None:
    """The job's assets of ``pipelines`` (None: all of them)."""
    if not pipelines:
        return None
    keys = job.asset_layer.selected_asset_keys
    daily = sorted({k.path[-1] for k in keys})
    unknown = sorted(set(pipelines) - set(daily))
    if unknown:
        raise PlanError(f"tenant {jobs.tenant!r} has no daily pipeline {unknown}; "
                        f"its daily pipelines: {daily}")
    return tuple(sorted((k for k in keys if k.path[-1] in pipelines), key=lambda k: list(k.path)))


def run_assets(jobs: TenantJobs, request: RunRequest) -> frozenset[dg.AssetKey]:
    """The assets a request materializes (for progress: a day is done when all of them are)."""
    if request.assets:
        return frozenset(request.assets)
    return frozenset(jobs.job(request.job).asset_layer.selected_asset_keys)
