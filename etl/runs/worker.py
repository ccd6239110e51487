"""Which tenant a run worker works for, so ``etl.all`` builds that tenant alone.

A code server builds every tenant's definitions once, at start; each run it launches is a new
process (a Dagster run worker) that would build them all again, which for a hundred tenants
costs seconds per run. The worker only needs the tenant of the job it runs. Dagster gives the
job's name to Kubernetes run pods (``DAGSTER_RUN_JOB_NAME``); a worker spawned by a code server
holds it in the job it is reconstructing when it loads the location, which is where this looks.
Anything not found here means "build everything", never a wrong tenant.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterable

import dagster as dg

JOB_NAME_ENV = "DAGSTER_RUN_JOB_NAME"
_MAX_FRAMES = 60


def tenant_of_this_run() -> str | None:
    """The tenant of the job this run worker executes, or None (not a worker, or unknown)."""
    job = os.environ.get(JOB_NAME_ENV)
    assets: Iterable[dg.AssetKey] = ()
    if job is None:
        if multiprocessing.parent_process() is None:  # a code server or a CLI, not a worker
            return None
        found = _job_being_reconstructed()
        if found is None:
            return None
        job, assets = found
    return tenant_of(job, assets)


def tenant_of(job: str, assets: Iterable[dg.AssetKey] = ()) -> str | None:
    """``<tenant>__<job>`` names its tenant; Dagster's own jobs (``__ASSET_JOB``) by assets."""
    if "__" in job and not job.startswith("__"):
        return job.split("__", 1)[0]
    tenants = {key.path[0] for key in assets}
    return tenants.pop() if len(tenants) == 1 else None


def _job_being_reconstructed() -> tuple[str, frozenset[dg.AssetKey]] | None:
    from dagster._core.definitions.reconstruct import ReconstructableJob

    frame = sys._getframe(1)
    for _ in range(_MAX_FRAMES):
        if frame is None:
            return None
        for value in frame.f_locals.values():
            if isinstance(value, ReconstructableJob):
                return value.job_name, frozenset(value.asset_selection or ())
        frame = frame.f_back  # type: ignore[assignment]
    return None
