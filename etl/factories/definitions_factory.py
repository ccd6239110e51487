"""Compose a tenant's assets, jobs, schedules and resources into ``dg.Definitions``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from etl import naming
from etl.common.transfer import TransferFunction
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
from etl.config.targets import Targets, clashes, foreign_variables, sibling_targets
from etl.factories.alert_factory import build_alerts
from etl.factories.asset_factory import build_tenant_assets
from etl.factories.check_factory import source_check_keys
from etl.factories.context import TenantContext
from etl.factories.freshness_factory import build_freshness
from etl.factories.heal_factory import build_heal_sensors
from etl.factories.job_factory import build_jobs
from etl.factories.resource_factory import build_resources
from etl.factories.schedule_factory import build_schedules
from etl.factories.transfers import resolve_transfers
from etl.utils.collection import fewer_collections
from etl.utils.days import daily_partitions

_BUILT: OrderedDict[tuple[object, ...], dg.Definitions] = OrderedDict()
_KEPT = 32


def tenant_definitions(loaded: LoadedTenant, qualified: bool) -> dg.Definitions:
    """The tenant's definitions, built once per process for one config.

    An ``etl run`` process needs them three or four times (the command's plan, then Dagster
    loading the code location for the run), each build 0.3 s for 30 pipelines, most of a
    one-day run's own work. What a build reads is the validated config and the transfer
    functions it resolves (imported once per process), so those are the key.
    """
    transfers = resolve_transfers(loaded)
    key = (qualified, str(loaded.folder), loaded.config.model_dump_json(),
           tuple(sorted((name, id(f)) for name, f in transfers.items())))
    built = _BUILT.get(key)
    if built is None:
        built = _build(loaded, qualified, transfers)
        _BUILT[key] = built
        if len(_BUILT) > _KEPT:
            _BUILT.popitem(last=False)
    return built


def _build(loaded: LoadedTenant, qualified: bool,
           transfers: Mapping[str, TransferFunction]) -> dg.Definitions:
    config = loaded.config
    tenant = config.tenant.id
    partitions = daily_partitions(config.schedule.start_date, config.schedule.timezone)
    tags = {naming.TENANT_TAG: tenant, **config.tags}
    ctx = TenantContext(config=config, partitions_def=partitions, tags=tags)
    pipelines = config.assets.enabled
    assets = build_tenant_assets(ctx, pipelines, transfers)
    freshness_checks, sensors = build_freshness(ctx, pipelines, qualified)
    resources = build_resources(config)
    sensor_checks = [k for c in freshness_checks for k in c.check_keys]
    unresolved = build_jobs(tenant, pipelines, tags, qualified, config.runs, sensor_checks,
                            source_check_keys(tenant, pipelines))
    # Resolve jobs against this tenant's assets only: resolving them later inside a merged
    # location walks every tenant's asset graph per job, which grows with tenants squared.
    own = dg.Definitions(assets=assets, asset_checks=freshness_checks,
                         jobs=list(unresolved.values()), resources=resources)
    jobs = {local: own.resolve_job_def(job.name) for local, job in unresolved.items()}
    return dg.Definitions(
        assets=assets,
        asset_checks=freshness_checks,
        jobs=list(jobs.values()),
        schedules=build_schedules(tenant, config.schedule, jobs, qualified, config.reconcile),
        sensors=[*sensors, *build_heal_sensors(tenant, config, jobs, qualified),
                 *build_alerts(ctx, pipelines, jobs, qualified)],
        resources=resources,
        # Also for runs of the assets outside the tenant's jobs (the UI's Materialize, asset
        # backfills): one process per run, and no orphaned step process if the run dies.
        executor=dg.in_process_executor,
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
    only: list[str] | None = None,
) -> dg.Definitions:
    """Every tenant (or those ``only``) in one location, job names prefixed by tenant; all
    broken tenants reported at once."""
    with fewer_collections():
        return _build_all(tenants_dir, common_file, only)


def _build_all(tenants_dir: Path | None, common_file: Path | None,
               only: list[str] | None) -> dg.Definitions:
    built: list[dg.Definitions] = []
    errors: list[ConfigError] = []
    loaded_all: list[LoadedTenant] = []
    unloaded: list[Path] = []
    for tenant_id in only or discover_tenants(tenants_dir):
        try:
            loaded = load_tenant_config(tenant_id, tenants_dir, common_file,
                                        check_siblings=False)
            loaded_all.append(loaded)
            built.append(tenant_definitions(loaded, qualified=True))
        except ConfigError as e:
            errors.append(e)
            unloaded.append(tenants_root(tenants_dir) / tenant_id)
        except Exception as e:  # one tenant's surprise must not hide the others' errors
            folder = tenants_root(tenants_dir) / tenant_id / CONFIG_FILE_NAME
            errors.append(ConfigError(tenant_id, [ConfigIssue(
                display_path(folder), None, "",
                f"building its definitions failed: {type(e).__name__}: {e}")]))
    # Broken tenants still hold their targets, as they do for every tenant's own location.
    errors.extend(shared_targets(loaded_all, list(sibling_targets(unloaded, CONFIG_FILE_NAME))))
    if errors:
        raise TenantsConfigError(errors)
    return dg.Definitions.merge(*built)


def shared_targets(tenants: list[LoadedTenant], others: list[Targets]) -> list[ConfigError]:
    """Every tenant that would write where another one does (see :mod:`etl.config.targets`)."""
    targets = [loaded.targets for loaded in tenants]
    every = [*targets, *others]
    errors = []
    names = [t.tenant for t in every]
    for loaded, own in zip(tenants, targets, strict=True):
        taken = [*clashes(own, every), *foreign_variables(own, names)]
        if taken:
            errors.append(ConfigError(loaded.tenant_id,
                                      [loaded.issue(c.at, c.message) for c in taken]))
    return errors
