"""The production instance: ``dagster.yaml`` on PostgreSQL with the run queue, run monitoring,
run retries and the tenants' limits, generated from the tenant folders.

Per-tenant limits are run-queue limits on two tags: ``tenant`` (set on every job of a tenant,
and on ``etl backfill --submit``) and ``dagster/code_location`` (set by Dagster on every run
launched from a location; in the per-tenant deployment the location is the tenant). Run
retries and the maximum runtime come from each tenant's ``runs:`` block through its jobs' tags.
Pool limits (``source.max_concurrent_steps``) are not part of the file: they live in the
instance's storage, so :func:`apply_pool_limits` sets them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from etl import naming
from etl.config.runs import RunsConfig
from etl.config.tenant_config import TenantConfig
from etl.deploy.settings import PG_PASSWORD_ENV, DeploymentSettings
from etl.instance.storage import postgres_storages


def instance_config(tenants: Sequence[TenantConfig],
                    settings: DeploymentSettings) -> dict[str, Any]:
    """The ``dagster.yaml`` of a deployment, as a mapping (dump it as YAML).

    Runs and schedules are Dagster's own PostgreSQL storages; the event log is the batching
    one (:mod:`etl.instance.storage`) on the same database, so the daemon, the webserver and
    every run worker write a run's per-day events in batches.
    """
    return {
        **postgres_storages({
            "hostname": {"env": "DAGSTER_PG_HOST"},
            "port": {"env": "DAGSTER_PG_PORT"},
            "username": {"env": "DAGSTER_PG_USER"},
            "password": {"env": PG_PASSWORD_ENV},
            "db_name": {"env": "DAGSTER_PG_DB"},
            # SQLAlchemy 2.1 would take psycopg 3 for plain postgresql://, which
            # dagster-postgres does not support (its NOTIFY fails): name the driver it uses.
            "scheme": "postgresql+psycopg2",
        }),
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {"dequeue_interval_seconds": settings.dequeue_interval_s},
        },
        "concurrency": {
            "runs": {"max_concurrent_runs": settings.max_concurrent_runs,
                     "tag_concurrency_limits": tag_limits(tenants)},
            "pools": {"default_limit": settings.default_pool_limit},
        },
        "run_monitoring": {
            "enabled": True,
            "start_timeout_seconds": settings.start_timeout_s,
            "poll_interval_seconds": settings.monitor_interval_s,
            "free_slots_after_run_end_seconds": settings.free_slots_after_s,
            "max_resume_run_attempts": 0,  # the default run launcher cannot resume a run
        },
        "run_retries": {
            "enabled": True,
            # Per tenant through its runs' dagster/max_retries tag; this default covers runs
            # launched without it (the UI's Materialize).
            "max_retries": RunsConfig().max_retries,
            # A step that failed has already retried its transient errors; what is left is
            # permanent (a wrong password, a missing table), and rerunning cannot fix it.
            "retry_on_asset_or_op_failure": False,
        },
        "telemetry": {"enabled": False},
    }


def tag_limits(tenants: Sequence[TenantConfig],
               locations: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """A limit per tenant on both tags, and a per-value default for tenants added later.

    ``locations`` maps a tenant to its code location's name where that is not the tenant id
    (on Kubernetes it is the user-code deployment's name, ``project-01``).
    """
    limits = {t.tenant.id: t.runs.max_concurrent for t in tenants}
    default = max(limits.values(), default=1)
    out: list[dict[str, Any]] = [{"key": naming.TENANT_TAG,
                                  "value": {"applyLimitPerUniqueValue": True},
                                  "limit": default}]
    for tenant, limit in sorted(limits.items()):
        location = (locations or {}).get(tenant, tenant)
        out += [{"key": naming.TENANT_TAG, "value": tenant, "limit": limit},
                {"key": naming.CODE_LOCATION_TAG, "value": location, "limit": limit}]
    return out


def pool_limits(tenants: Sequence[TenantConfig]) -> dict[str, int]:
    return {naming.pool_name(t.tenant.id): t.source.max_concurrent_steps for t in tenants}


def apply_pool_limits(instance: dg.DagsterInstance,
                      tenants: Sequence[TenantConfig]) -> dict[str, int]:
    """Set each tenant's source pool limit in the instance (what the UI's pools page shows)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        raise RuntimeError("this instance's storage has no concurrency pools")
    limits = pool_limits(tenants)
    for pool, limit in limits.items():
        storage.set_concurrency_slots(pool, limit)
    return limits
