"""``--submit``: hand work to a running daemon instead of running it here.

``etl backfill --submit`` stores a backfill of the tenant's job (``daily_etl_job``, or a stage
job), as the job's *Partitions* page does: the daemon splits it by the job's backfill policy
(one range run, or runs of ``backfill.days_per_run`` days), runs it under the run queue's
limits as that job, with the job's tags, and the UI lists it on the job's page and on its
backfills page. ``etl run --submit`` puts one run in the run queue, as the UI's "Launch run"
does. Both refuse an instance no daemon is running on: the work would wait for one, unseen.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TextIO

import dagster as dg

from etl.errors import UsageError
from etl.runs.launch import REPOSITORY, RunRequest, create_run, origin_of
from etl.runs.plan import TenantJobs
from etl.runs.progress import Tally

WAIT_POLL_S = 2.0
PRINT_EVERY_S = 5.0  # as the progress of a run here prints without a terminal
FINISHED = ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED")


def require_daemon(instance: dg.DagsterInstance) -> None:
    """Refuse, in one line, an instance whose daemon is not running (no recent heartbeat of
    the daemons the instance needs: backfills, the run queue, sensors, run monitoring...)."""
    statuses = instance.get_daemon_statuses()
    down = sorted(name for name, status in statuses.items() if not status.healthy)
    if not down:
        return
    heartbeats = instance.get_daemon_heartbeats()
    last = max((h.timestamp for h in heartbeats.values()), default=None)
    seen = ("it has never run here" if last is None else
            f"its last heartbeat was {time.time() - last:,.0f} s ago")
    raise UsageError(
        f"no dagster-daemon is running on the instance in {instance.root_directory} "
        f"({', '.join(down)} not healthy; {seen}): submitted work would wait unseen. Start "
        "the deployment (etl deploy up) and point DAGSTER_HOME at it, or run here without "
        "--submit")


def submit_backfill(instance: dg.DagsterInstance, jobs: TenantJobs, job: str,
                    days: Sequence[str], assets: Sequence[dg.AssetKey] | None) -> str:
    """Store a backfill of ``job`` over ``days`` (``assets``: a subset) for the daemon."""
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.remote_origin import (
        RegisteredCodeLocationOrigin,
        RemotePartitionSetOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.utils import make_new_backfill_id
    from dagster._time import get_current_timestamp

    require_daemon(instance)
    repository = RemoteRepositoryOrigin(
        code_location_origin=RegisteredCodeLocationOrigin(jobs.location.name),
        repository_name=REPOSITORY)
    backfill = PartitionBackfill(
        backfill_id=make_new_backfill_id(),
        partition_set_origin=RemotePartitionSetOrigin(
            repository_origin=repository, partition_set_name=f"{job}_partition_set"),
        status=BulkActionStatus.REQUESTED,
        partition_names=list(days),
        from_failure=False,
        reexecution_steps=None,
        asset_selection=list(assets) if assets else None,
        tags={},
        backfill_timestamp=get_current_timestamp(),
        title=f"{jobs.tenant} {job} {days[0]}..{days[-1]}",
        description=f"etl backfill {jobs.tenant} --from {days[0]} --to {days[-1]}",
    )
    instance.add_backfill(backfill)
    return str(backfill.backfill_id)


def wait_for_backfill(instance: dg.DagsterInstance, backfill_id: str,
                      keys: frozenset[dg.AssetKey], days: int, out: TextIO,
                      every_s: float = PRINT_EVERY_S) -> bool:
    """Print the backfill's progress until the daemon has finished it, and each failed step's
    message; True if it succeeded."""
    from dagster._core.storage.dagster_run import RunsFilter

    from etl.instance.run_failures import failure_causes

    started = printed = time.monotonic()
    reported: set[str] = set()
    while True:
        backfill = instance.get_backfill(backfill_id)
        status = backfill.status.value if backfill is not None else "UNKNOWN"
        tally = Tally(keys, days)
        runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id}))
        for run in runs:
            for record in instance.get_records_for_run(run.run_id, limit=100_000).records:
                tally.record(record.event_log_entry)
        failed = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
        done = status in FINISHED
        if done or time.monotonic() - printed >= every_s:
            out.write(f"backfill {backfill_id}: {status}, {len(runs)} run(s) ({len(failed)} "
                      f"failed), {tally.days_done}/{days} day(s), {tally.rows:,} rows, "
                      f"{time.monotonic() - started:.0f}s\n")
            printed = time.monotonic()
        for run in (r for r in failed if r.run_id not in reported):
            reported.add(run.run_id)
            out.write(f"  run {run.run_id} failed:\n")
            out.writelines(f"    {line}\n" for cause in failure_causes(instance, run.run_id)
                           for line in cause.splitlines())
        out.flush()
        if done:
            return status in ("COMPLETED", "COMPLETED_SUCCESS") and not failed
        time.sleep(WAIT_POLL_S)


def submit_run(instance: dg.DagsterInstance, request: RunRequest) -> dg.DagsterRun:
    """Create the run and put it in the run queue for the daemon; returns it queued."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

    require_daemon(instance)
    run = create_run(instance, request)
    target = InProcessWorkspaceLoadTarget([origin_of(request.location)])
    with WorkspaceProcessContext(instance, target) as workspace:
        return instance.submit_run(run.run_id, workspace.create_request_context())


def wait_for_run(instance: dg.DagsterInstance, run_id: str, timeout_s: float | None = None,
                 poll_s: float = 0.5) -> dg.DagsterRun:
    """The run once it has finished (or the last state seen when ``timeout_s`` passed)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise ValueError(f"run {run_id} does not exist")
        if run.is_finished or (deadline is not None and time.monotonic() > deadline):
            return run
        time.sleep(poll_s)
