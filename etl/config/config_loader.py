"""Load a tenant's ``config.yaml``, merge in the common pipelines and validate it.

The common pipelines (``etl/common/pipelines.yaml``) are the single source of truth; the tenant
inherits them (all by default, see :mod:`etl.config.inheritance`) and its entries merge over
them. Every error points at the file and line the offending value came from, and a tenant that
would write where a sibling tenant writes is refused in its own location
(:mod:`etl.config.targets`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from etl.config.common_alerts import common_alerts_issues, merge_alerts
from etl.config.errors import ConfigError, ConfigIssue
from etl.config.inheritance import merge_pipelines
from etl.config.issues import (
    PIPELINES_PATH,
    ConfigIssueLocation,
    PipelineOrigin,
    display_path,
    issue_at,
    issues_from,
    locate,
)
from etl.config.targets import Targets, clashes, foreign_variables, sibling_targets
from etl.config.tenant_config import CommonPipelines, TenantConfig
from etl.config.yaml_lines import PathKey, YamlDocument, YamlError, load_yaml
from etl.model.env_vars import env_fields
from etl.naming import (
    IDENTIFIER_MAX_LENGTH,
    IDENTIFIER_PATTERN,
    PACKAGE_DIR,
    reserved_tenant_ids,
    tenant_id_problem,
)
from etl.utils.safe_paths import LinkError, own_folder

__all__ = ["ConfigIssueLocation", "PipelineOrigin", "display_path"]

DEFAULT_TENANTS_DIR = PACKAGE_DIR / "tenants"
TENANTS_DIR_ENV = "ETL_TENANTS_DIR"
COMMON_PIPELINES_FILE = PACKAGE_DIR / "common" / "pipelines.yaml"
COMMON_ALERTS_FILE = PACKAGE_DIR / "common" / "alerts.yaml"
CONFIG_FILE_NAME = "config.yaml"


@dataclass(frozen=True)
class LoadedTenant:
    """A validated tenant config plus what is needed to point later errors at a line."""

    tenant_id: str
    folder: Path
    config: TenantConfig
    document: YamlDocument
    common: YamlDocument | None
    origins: tuple[PipelineOrigin, ...] = field(default=())
    defaults: YamlDocument | None = None  # the common alerts file, if any

    def locate(self, path: PathKey) -> ConfigIssueLocation:
        return locate(path, self.document, self.common, self.origins, self.defaults)

    def issue(self, path: PathKey, message: str) -> ConfigIssue:
        where = self.locate(path)
        return ConfigIssue(where.file, where.line, where.path, message)

    @property
    def targets(self) -> Targets:
        return Targets.of(self.tenant_id, self.config.storage, self.config.warehouse,
                          env_fields(self.config))


def tenants_root(tenants_dir: Path | None = None) -> Path:
    """The tenants folder: the one given, else ``$ETL_TENANTS_DIR``, else the package's own.

    The variable lets a code location (``etl.<tenant>``, started by Dagster, which passes no
    arguments) read tenant folders kept outside the package, e.g. a deployment's config repo.
    """
    if tenants_dir is not None:
        return tenants_dir
    configured = os.environ.get(TENANTS_DIR_ENV)
    return Path(configured) if configured else DEFAULT_TENANTS_DIR


def tenant_folders(tenants_dir: Path | None = None) -> list[Path]:
    """Folders holding a tenant's config.yaml, except ``_``/``.``-prefixed ones (the template)."""
    root = tenants_root(tenants_dir)
    return sorted(
        p for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / CONFIG_FILE_NAME).is_file()
    )


def validate_tenant_id(tenant_id: str, folder: Path) -> None:
    """The id's pattern and length, checked before any file is named by it; then not a module
    of the package."""
    problem = tenant_id_problem(tenant_id)
    if problem is not None:  # the folder is not named: a path that long is no path at all
        raise ConfigError(tenant_id[:40], [ConfigIssue("tenant id", None, "", problem)])
    reserved = reserved_tenant_ids()
    if tenant_id in reserved:
        raise ConfigError(tenant_id, [ConfigIssue(
            display_path(folder), None, "",
            f"tenant id {tenant_id!r} is not allowed: it must match {IDENTIFIER_PATTERN}, have "
            f"at most {IDENTIFIER_MAX_LENGTH} characters and not be the name of a module of "
            f"the etl package ({sorted(reserved)})")])


def load_common_pipelines(file: Path = COMMON_PIPELINES_FILE) -> YamlDocument:
    doc = _parse(file, tenant="common")
    duplicates = _duplicate_names(doc, ("pipelines",))
    if duplicates:
        raise ConfigError("common", duplicates)
    try:
        CommonPipelines.model_validate(doc.data)
    except ValidationError as e:
        issues = issues_from(e, doc, None, (), CommonPipelines, doc.data)
    else:
        return doc
    raise ConfigError("common", issues)


def load_common_alerts(file: Path | None = COMMON_ALERTS_FILE) -> YamlDocument | None:
    """``etl/common/alerts.yaml`` if it exists (see :mod:`etl.config.common_alerts`)."""
    if file is None or not file.is_file():
        return None
    doc = _parse(file, tenant="common")
    issues = common_alerts_issues(doc)
    if issues:
        raise ConfigError("common", issues)
    return doc


def load_tenant_config(
    tenant_id: str,
    tenants_dir: Path | None = None,
    common_file: Path | None = COMMON_PIPELINES_FILE,
    *,
    check_siblings: bool = True,
    common_alerts_file: Path | None = COMMON_ALERTS_FILE,
) -> LoadedTenant:
    """Read, merge and validate one tenant; raises ``ConfigError`` naming file, line and field.

    With ``check_siblings`` (the default: a tenant's own code location, ``etl run``) the
    tenant's warehouse schema and lake folder are checked against every other tenant's in the
    same folder; ``etl.all`` checks all pairs at once instead.
    """
    root = tenants_root(tenants_dir)
    validate_tenant_id(tenant_id, root / tenant_id)
    folder = root / tenant_id
    file = folder / CONFIG_FILE_NAME
    if not file.exists() and not file.is_symlink():
        raise ConfigError(
            tenant_id,
            [ConfigIssue(display_path(file), None, "",
                         "file not found; copy etl/tenants/_template")],
        )
    doc = _parse(file, tenant=tenant_id, folder=own_folder(root, tenant_id))
    return load_tenant_document(tenant_id, folder, doc, common_file,
                                check_siblings=check_siblings,
                                common_alerts_file=common_alerts_file)


def load_tenant_document(
    tenant_id: str,
    folder: Path,
    doc: YamlDocument,
    common_file: Path | None = COMMON_PIPELINES_FILE,
    *,
    check_siblings: bool = True,
    common_alerts_file: Path | None = COMMON_ALERTS_FILE,
) -> LoadedTenant:
    """Merge and validate a tenant's parsed config, wherever it was written.

    ``doc`` carries the line of every key, so errors point into the file it came from: the
    tenant's ``config.yaml``, or the ``attributes:`` of a ``defs.yaml`` (:mod:`etl.components`).
    """
    file = doc.file
    common = load_common_pipelines(common_file) if common_file is not None else None
    defaults = load_common_alerts(common_alerts_file)
    if not isinstance(doc.data, dict):
        raise ConfigError(tenant_id, [ConfigIssue(display_path(file), doc.line_of(()), "", (
            "expected a mapping of the config's sections (tenant, source, storage, ...)"))])
    duplicates = _duplicate_names(doc, PIPELINES_PATH)
    merged = merge_pipelines(doc, common)
    if duplicates or merged.issues:
        raise ConfigError(tenant_id, [*duplicates, *merged.issues])
    data = merge_alerts(merged.data, defaults, tenant_id)
    try:
        config = TenantConfig.model_validate(data)
    except ValidationError as e:
        issues = issues_from(e, doc, common, merged.origins, TenantConfig, data, defaults)
    else:
        issues = []
    if issues:  # raised outside the handler: a chained error would repeat secrets
        raise ConfigError(tenant_id, issues)
    loaded = LoadedTenant(tenant_id, folder, config, doc, common, merged.origins, defaults)
    if config.tenant.id != tenant_id:
        raise ConfigError(
            tenant_id,
            [loaded.issue(("tenant", "id"), f"is {config.tenant.id!r} but the folder is "
                          f"{tenant_id!r}; they must match")],
        )
    if check_siblings:
        siblings = [f for f in tenant_folders(folder.parent) if f.name != tenant_id]
        own = loaded.targets
        taken = [*clashes(own, sibling_targets(siblings, CONFIG_FILE_NAME)),
                 *foreign_variables(own, (f.name for f in siblings))]
        if taken:
            raise ConfigError(tenant_id, [loaded.issue(c.at, c.message) for c in taken])
    return loaded


def _parse(file: Path, tenant: str, folder: Path | None = None) -> YamlDocument:
    """``file`` parsed; with ``folder``, only if it is really in that folder (no link out)."""
    try:
        return load_yaml(file, folder)
    except YamlError as e:
        raise ConfigError(tenant, [
            ConfigIssue(display_path(file), p.line, "", p.message) for p in e.problems
        ]) from None
    except LinkError as e:  # what it leads to is not read, so nothing of it is shown
        raise ConfigError(tenant, [ConfigIssue(display_path(file), None, "", e.detail)]) from None
    except OSError as e:
        raise ConfigError(tenant, [ConfigIssue(
            display_path(file), None, "", f"cannot be read: {e.strerror or e}")]) from None


def _duplicate_names(doc: YamlDocument, at: PathKey) -> list[ConfigIssue]:
    """A pipeline listed twice in one file: merging would silently keep only the last."""
    node: Any = doc.data
    for part in at:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, list):
        return []
    first_line: dict[str, int | None] = {}
    issues = []
    for i, item in enumerate(node):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        path = (*at, i, "name")
        if name in first_line:
            issues.append(issue_at(doc, path, (
                f"pipeline {name!r} is listed twice (first at line {first_line[name]}); "
                "merge the two entries")))
        else:
            first_line[name] = doc.line_of(path)
    return issues
