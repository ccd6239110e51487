"""Validate tenants as their code locations would load them, and what no location sees alone.

Each tenant is loaded and its definitions built exactly as ``etl.<tenant>`` builds them, so
``ok`` means its location loads. On top: folders, configs and modules that do not match up
(:mod:`~etl.validate.layout`), two tenants writing to one place, secrets set too short and,
with ``connect``, every source, bucket and warehouse reached (:mod:`~etl.validate.connect`).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from etl.config.config_loader import (
    CONFIG_FILE_NAME,
    LoadedTenant,
    display_path,
    load_tenant_config,
    tenants_root,
)
from etl.config.discovery import discover_tenants
from etl.config.errors import ConfigError
from etl.config.targets import sibling_targets
from etl.factories.definitions_factory import shared_targets, tenant_definitions
from etl.naming import PACKAGE_DIR, STAGES
from etl.utils.logging import redact
from etl.validate.env_secrets import short_secrets
from etl.validate.layout import layout_problems, needs_modules
from etl.validate.report import TenantReport


def validate_tenants(
    tenants_dir: Path | None = None,
    only: str | None = None,
    *,
    package_dir: Path | None = None,
    connect: bool = False,
    timeout_s: float = 10.0,
) -> list[TenantReport]:
    """One report per tenant (or just ``only``), sorted by name.

    Code-location modules are required in ``package_dir`` when it is given, and otherwise only
    for the package's own tenants folder (tenants elsewhere are served by
    ``etl.tenant_location``).
    """
    modules = package_dir is not None or needs_modules(tenants_dir)
    layout = layout_problems(tenants_dir, package_dir or PACKAGE_DIR, modules)
    configured = discover_tenants(tenants_dir)
    names = sorted({*configured, *layout})
    if only is not None:
        if only not in names:
            return [_unknown(only, tenants_dir, names)]
        names = [only]
    reports = {name: TenantReport(name, list(layout.get(name, []))) for name in names}
    loaded = []
    for name in (n for n in names if n in configured):
        tenant = _load(reports[name], tenants_dir, check_siblings=only is not None)
        if tenant is not None:
            loaded.append(tenant)
    if only is None:
        unloaded = [tenants_root(tenants_dir) / n for n in configured
                    if n not in {t.tenant_id for t in loaded}]
        for error in shared_targets(loaded, list(sibling_targets(unloaded, CONFIG_FILE_NAME))):
            reports[error.tenant].errors += [i.render() for i in error.issues]
    for tenant in loaded:
        reports[tenant.tenant_id].warnings += short_secrets(tenant.config)
    if connect:
        from etl.validate.connect import probe_tenants  # drivers and clients: only here

        for tenant_id, problems in probe_tenants(loaded, timeout_s).items():
            reports[tenant_id].errors += problems
    return [reports[name] for name in names]


def _load(report: TenantReport, tenants_dir: Path | None,
          check_siblings: bool) -> LoadedTenant | None:
    """Load and build like the tenant's own location; errors go into ``report``."""
    try:
        loaded = load_tenant_config(report.tenant, tenants_dir, check_siblings=check_siblings)
    except ConfigError as e:
        report.errors += [i.render() for i in e.issues]
        return None
    try:
        repo = tenant_definitions(loaded, qualified=False).get_repository_def()
    except ConfigError as e:
        report.errors += [i.render() for i in e.issues]
    except Exception as e:  # what the location would fail with, said in one line
        file = display_path(loaded.folder / CONFIG_FILE_NAME)
        report.errors.append(redact(f"{file}: building its definitions failed: "
                                    f"{type(e).__name__}: {e}"))
    else:
        report.summary = _summary(repo)
        report.pipelines = pipeline_lines(loaded)
    return loaded


def pipeline_lines(loaded: LoadedTenant) -> list[str]:
    """Which stages each enabled pipeline runs: a pipeline that is never loaded says so."""
    lines = []
    for p in loaded.config.assets.enabled:
        stages = [s for s in STAGES if p.has_stage(s)]
        kind = f"daily by {p.date_column}" if p.date_column else "master data"
        note = "" if p.save_to_trino else "; not loaded into the warehouse (save_to_trino: false)"
        lines.append(f"{p.name} ({kind}): {', '.join(stages)}{note}")
    return lines


def _summary(repo: dg.RepositoryDefinition) -> str:
    assets = len(repo.asset_graph.get_all_asset_keys())
    jobs = len([j for j in repo.get_all_jobs() if not j.name.startswith("__")])
    schedules = len(repo.schedule_defs)
    return (f"{assets} assets, {jobs} jobs, {schedules} schedule"
            f"{'' if schedules == 1 else 's'}")


def _unknown(name: str, tenants_dir: Path | None, names: list[str]) -> TenantReport:
    folder = display_path(tenants_root(tenants_dir) / name / CONFIG_FILE_NAME)
    return TenantReport(name, [f"no tenant {name!r}: {folder} does not exist (tenants: "
                               f"{', '.join(names) or 'none'})"])
