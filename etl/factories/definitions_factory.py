"""Compose a tenant's assets, jobs, schedules and resources into ``dg.Definitions``."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from etl.config.config_loader import (
    COMMON_PIPELINES_FILE,
    CONFIG_FILE_NAME,
    LoadedTenant,
    display_path,
    load_tenant_config,
    tenants_root,
)
from etl.config.discovery import discover_tenants
from etl.config.errors import ConfigError, ConfigIssue, TenantsConfigError
from etl.factories.asset_factory import TenantContext, build_tenant_assets
from etl.factories.freshness_factory import build_freshness
from etl.factories.job_factory import build_jobs
from etl.factories.resource_factory import build_resources
from etl.factories.schedule_factory import build_schedules
from etl.factories.transfers import resolve_transfers
from etl.partitions.daily import daily_partitions


def tenant_definitions(loaded: LoadedTenant, qualified: bool) -> dg.Definitions:
    config = loaded.config
    tenant = config.tenant.id
    transfers = resolve_transfers(loaded)
    partitions = daily_partitions(config.schedule.start_date, config.schedule.timezone)
    tags = {"tenant": tenant, **config.tags}
    ctx = TenantContext(config=config, partitions_def=partitions, tags=tags)
    pipelines = config.assets.enabled
    assets = build_tenant_assets(ctx, pipelines, transfers)
    freshness_checks, sensors = build_freshness(ctx, pipelines, qualified)
    resources = build_resources(config)
    sensor_checks = [k for c in freshness_checks for k in c.check_keys]
    unresolved = build_jobs(tenant, pipelines, tags, qualified, sensor_checks)
    # Resolve jobs against this tenant's assets only: resolving them later inside a merged
    # location walks every tenant's asset graph per job, which grows with tenants squared.
    own = dg.Definitions(assets=assets, asset_checks=freshness_checks,
                         jobs=list(unresolved.values()), resources=resources)
    jobs = {local: own.resolve_job_def(job.name) for local, job in unresolved.items()}
    return dg.Definitions(
        assets=assets,
        asset_checks=freshness_checks,
        jobs=list(jobs.values()),
        schedules=build_schedules(tenant, config.schedule, jobs, qualified),
        sensors=sensors,
        resources=resources,
    )


def build_tenant_definitions(
    tenant_id: str,
    tenants_dir: Path | None = None,
    common_file: Path | None = COMMON_PIPELINES_FILE,
) -> dg.Definitions:
    """One tenant's code location; fails only for this tenant's own configuration."""
    return tenant_definitions(load_tenant_config(tenant_id, tenants_dir, common_file), False)


def build_all_definitions(
    tenants_dir: Path | None = None,
    common_file: Path | None = COMMON_PIPELINES_FILE,
) -> dg.Definitions:
    """Every tenant in one location, job names prefixed by tenant; all broken tenants reported."""
    built: list[dg.Definitions] = []
    errors: list[ConfigError] = []
    loaded_all: list[LoadedTenant] = []
    for tenant_id in discover_tenants(tenants_dir):
        try:
            loaded = load_tenant_config(tenant_id, tenants_dir, common_file)
            built.append(tenant_definitions(loaded, qualified=True))
            loaded_all.append(loaded)
        except ConfigError as e:
            errors.append(e)
        except Exception as e:  # one tenant's surprise must not hide the others' errors
            folder = tenants_root(tenants_dir) / tenant_id / CONFIG_FILE_NAME
            errors.append(ConfigError(tenant_id, [ConfigIssue(
                display_path(folder), None, "",
                f"building its definitions failed: {type(e).__name__}: {e}")]))
    errors.extend(shared_warehouse_schemas(loaded_all))
    if errors:
        raise TenantsConfigError(errors)
    return dg.Definitions.merge(*built)


def shared_warehouse_schemas(tenants: list[LoadedTenant]) -> list[ConfigError]:
    owner: dict[tuple[str, ...], str] = {}
    errors = []
    for loaded in tenants:
        identity = loaded.config.warehouse.target(loaded.tenant_id)
        first = owner.setdefault(identity, loaded.tenant_id)
        if first != loaded.tenant_id:
            errors.append(ConfigError(loaded.tenant_id, [loaded.issue(
                ("warehouse", "schema_name"),
                f"schema {identity[-1]!r} is already used by tenant {first!r} in the same "
                "warehouse; their tables would overwrite each other: set a distinct "
                "warehouse.schema_name",
            )]))
    return errors
