"""``--submit``: hand work to a running daemon instead of running it here.

``etl backfill --submit`` stores the same record the UI's "Materialize" dialog creates (an
asset backfill by partition), so the daemon runs it under the run queue's limits, the UI shows
it on its backfills page, and the tenant's backfill policy decides how many days each run
takes. ``etl run --submit`` puts one run in the run queue, as the UI's "Launch run" does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TextIO

import dagster as dg

from etl import naming
from etl.factories.job_factory import run_tags
from etl.runs.launch import RunRequest, create_run, origin_of
from etl.runs.plan import TenantJobs
from etl.runs.progress import Tally

WAIT_POLL_S = 2.0
FINISHED = ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED")


def submit_backfill(instance: dg.DagsterInstance, jobs: TenantJobs, days: Sequence[str],
                    assets: Sequence[dg.AssetKey]) -> str:
    """Store the backfill for the daemon; returns its id."""
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.utils import make_new_backfill_id
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
    from dagster._time import get_current_timestamp

    jobs.location.activate()
    target = InProcessWorkspaceLoadTarget([origin_of(jobs.location)])
    with WorkspaceProcessContext(instance, target) as workspace:
        backfill = PartitionBackfill.from_asset_partitions(
            backfill_id=make_new_backfill_id(),
            asset_graph=workspace.create_request_context().asset_graph,
            partition_names=list(days),
            asset_selection=list(assets),
            backfill_timestamp=get_current_timestamp(),
            tags=backfill_tags(jobs),
            dynamic_partitions_store=instance,
            all_partitions=False,
            title=f"{jobs.tenant} {days[0]}..{days[-1]}",
            description=f"etl backfill {jobs.tenant} --from {days[0]} --to {days[-1]}",
            run_config=None,
        )
        instance.add_backfill(backfill)
    return str(backfill.backfill_id)


def backfill_tags(jobs: TenantJobs) -> dict[str, str]:
    """The tags the tenant's own jobs carry (queue key, retries, runtime) for every run of the
    backfill, which Dagster launches outside those jobs."""
    config = jobs.loaded.config
    return {naming.TENANT_TAG: jobs.tenant, **config.tags, **run_tags(config.runs)}


def wait_for_backfill(instance: dg.DagsterInstance, backfill_id: str,
                      keys: frozenset[dg.AssetKey], days: int, out: TextIO) -> bool:
    """Print the backfill's progress until the daemon has finished it; True if it succeeded."""
    from dagster._core.storage.dagster_run import RunsFilter

    started = time.monotonic()
    while True:
        backfill = instance.get_backfill(backfill_id)
        status = backfill.status.value if backfill is not None else "UNKNOWN"
        tally = Tally(keys, days)
        runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id}))
        for run in runs:
            for record in instance.get_records_for_run(run.run_id, limit=100_000).records:
                tally.record(record.event_log_entry)
        failed = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
        out.write(f"backfill {backfill_id}: {status}, {len(runs)} run(s) ({len(failed)} failed),"
                  f" {tally.days_done}/{days} day(s), {tally.rows:,} rows, "
                  f"{time.monotonic() - started:.0f}s\n")
        out.flush()
        if status in FINISHED:
            return status in ("COMPLETED", "COMPLETED_SUCCESS") and not failed
        time.sleep(WAIT_POLL_S)


def submit_run(instance: dg.DagsterInstance, request: RunRequest) -> dg.DagsterRun:
    """Create the run and put it in the run queue for the daemon; returns it queued."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

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
