"""Runs started from the ``etl`` command, recorded as the Dagster UI's own runs.

``job.execute_in_process`` (and ``dagster job execute``) record runs without their code
location, so the UI's job pages never list them and cannot re-execute them. Here the tenant's
code location is loaded the way a code server loads it, the run is created from that location's
job (as ``dagster job launch`` does, which tags it with its repository and location), and then
executed in this process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dagster as dg

from etl import naming

if TYPE_CHECKING:
    from dagster._core.remote_origin import InProcessCodeLocationOrigin

REPOSITORY = "__repository__"
# The command prints its own progress and, if a run fails, each cause in one line; Dagster's
# console log would repeat every event and every traceback (``--verbose`` shows it).
QUIET: Mapping[str, object] = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
VERBOSE: Mapping[str, object] = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


TENANT_LOCATION_MODULE = "etl.tenant_location"
TENANT_ENV = "ETL_TENANT"


@dataclass(frozen=True)
class CodeLocation:
    """A code location by its module and name, as ``workspace.yaml`` lists it.

    A tenant's location is its module ``etl.<tenant>``; a tenant kept outside the package has
    none and is served by ``etl.tenant_location`` with ``ETL_TENANT`` in the environment.
    """

    module: str
    name: str
    env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of_tenant(cls, tenant: str) -> CodeLocation:
        if (naming.PACKAGE_DIR / f"{tenant}.py").is_file():
            return cls(f"etl.{tenant}", tenant)
        return cls(TENANT_LOCATION_MODULE, tenant, ((TENANT_ENV, tenant),))

    def activate(self) -> None:
        """Set the location's environment in this process (before loading it here).

        ``etl.tenant_location`` builds the tenant ``ETL_TENANT`` names when it is imported: a
        process that ran another such tenant before imports it afresh.
        """
        changed = any(os.environ.get(k) != v for k, v in self.env)
        os.environ.update(dict(self.env))
        if changed:
            from etl.instance.private import forget_loaded_job

            sys.modules.pop(TENANT_LOCATION_MODULE, None)
            forget_loaded_job()


@dataclass(frozen=True)
class RunRequest:
    """One run of a tenant job over one day, a range of days, or master data."""

    location: CodeLocation
    job: str  # the job's name in that location
    days: tuple[str, ...] | None = None  # sorted; one day, or a range; None for master data
    assets: tuple[dg.AssetKey, ...] | None = None  # a subset of the job's assets
    checks: tuple[dg.AssetCheckKey, ...] | None = None  # its checks (None: those of the assets)
    by_partition: bool = True  # False: the days are named by the etl/days tag instead (a heal)
    tags: Mapping[str, str] = field(default_factory=dict)
    run_config: Mapping[str, object] = field(default_factory=lambda: dict(QUIET))

    def partition_tags(self) -> dict[str, str]:
        if not self.days or not self.by_partition:
            return {}
        if len(self.days) == 1:
            return {naming.PARTITION_TAG: self.days[0]}
        return {naming.RANGE_START_TAG: self.days[0], naming.RANGE_END_TAG: self.days[-1]}


def create_run(instance: dg.DagsterInstance, request: RunRequest) -> dg.DagsterRun:
    """Create (not start) the run, carrying its code location like a UI-launched run.

    Dagster records one planned event per asset and day of the run: that is what shows a day
    as in progress while the run goes, and as failed if the run ends without it.
    """
    from dagster._core.definitions.selector import JobSubsetSelector

    request.location.activate()
    with origin_of(request.location).create_location(instance) as location:
        repo = location.get_repository(REPOSITORY)
        remote_job = location.get_job(JobSubsetSelector(
            location_name=request.location.name, repository_name=repo.name,
            job_name=request.job, op_selection=None,
            asset_selection=list(request.assets) if request.assets else None,
            asset_check_selection=request.checks,
        ))
        run_config = dict(request.run_config)
        plan = location.get_execution_plan(remote_job, run_config, step_keys_to_execute=None,
                                           known_state=None, instance=instance)
        return instance.create_run(
            job_name=request.job, run_id=None, run_config=run_config,
            resolved_op_selection=remote_job.resolved_op_selection,
            step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute,
            op_selection=None, status=None, root_run_id=None, parent_run_id=None,
            tags={**remote_job.tags, **request.tags, **request.partition_tags()},
            job_snapshot=remote_job.job_snapshot,
            execution_plan_snapshot=plan.execution_plan_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot,
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            asset_selection=frozenset(request.assets) if request.assets else None,
            asset_check_selection=(frozenset(request.checks) if request.checks is not None
                                   else None),
            asset_graph=repo.asset_graph,
        )


def execute(instance: dg.DagsterInstance, run: dg.DagsterRun,
            on_start: Callable[[dg.DagsterRun], None] | None = None) -> dg.DagsterRun:
    """Execute a created run here, as a run worker would; returns the finished run."""
    from dagster._core.execution.api import execute_run
    from dagster._utils.hosted_user_process import recon_job_from_origin

    from etl.runs.orphans import executor_tags

    origin = run.job_code_origin
    if origin is None:
        raise ValueError(f"run {run.run_id} has no code origin to execute")
    # Which process executes it, so the next etl command can fail it if this one is killed.
    instance.add_run_tags(run.run_id, executor_tags(run.run_id))
    run = instance.get_run_by_id(run.run_id) or run
    if on_start is not None:
        on_start(run)
    execute_run(recon_job_from_origin(origin), run, instance)
    finished = instance.get_run_by_id(run.run_id)
    if finished is None:
        raise RuntimeError(f"run {run.run_id} disappeared from the instance")
    return finished


def run_in_process(instance: dg.DagsterInstance, request: RunRequest,
                   on_start: Callable[[dg.DagsterRun], None] | None = None) -> dg.DagsterRun:
    return execute(instance, create_run(instance, request), on_start)


def origin_of(location: CodeLocation) -> InProcessCodeLocationOrigin:
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    return InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name=location.module,
                             working_directory=os.getcwd()),
        location_name=location.name,
    )
