"""Load a tenant's ``config.yaml``, merge in the common pipelines and validate it.

The common pipelines (``etl/common/pipelines.yaml``) are the single source of truth; a tenant's
``assets.pipelines`` entry with the same name is deep-merged over the common one (so a tenant
overrides only the keys it writes, and ``enabled: false`` disables it), other entries are added.
Every error points at the file and line the offending value came from.
"""

from __future__ import annotations

import os
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from etl.config.errors import ConfigError, ConfigIssue
from etl.config.tenant_config import CommonPipelines, TenantConfig
from etl.config.yaml_lines import PathKey, YamlDocument, load_yaml
from etl.naming import IDENTIFIER_PATTERN, IDENTIFIER_RE, PACKAGE_DIR, reserved_tenant_ids
from etl.utils.logging import redact

DEFAULT_TENANTS_DIR = PACKAGE_DIR / "tenants"
TENANTS_DIR_ENV = "ETL_TENANTS_DIR"
COMMON_PIPELINES_FILE = PACKAGE_DIR / "common" / "pipelines.yaml"
CONFIG_FILE_NAME = "config.yaml"
PIPELINES_PATH: PathKey = ("assets", "pipelines")


@dataclass(frozen=True)
class PipelineOrigin:
    """Where a merged pipeline came from: its index in the common and/or the tenant file."""

    common_index: int | None
    tenant_index: int | None


@dataclass(frozen=True)
class LoadedTenant:
    """A validated tenant config plus what is needed to point later errors at a line."""

    tenant_id: str
    folder: Path
    config: TenantConfig
    document: YamlDocument
    common: YamlDocument | None
    origins: tuple[PipelineOrigin, ...] = field(default=())

    def locate(self, path: PathKey) -> ConfigIssueLocation:
        return _locate(path, self.document, self.common, self.origins)

    def issue(self, path: PathKey, message: str) -> ConfigIssue:
        where = self.locate(path)
        return ConfigIssue(where.file, where.line, where.path, message)


@dataclass(frozen=True)
class ConfigIssueLocation:
    file: str
    line: int | None
    path: str


def tenants_root(tenants_dir: Path | None = None) -> Path:
    """The tenants folder: the one given, else ``$ETL_TENANTS_DIR``, else the package's own.

    The variable lets a code location (``etl.<tenant>``, started by Dagster, which passes no
    arguments) read tenant folders kept outside the package, e.g. a deployment's config repo.
    """
    if tenants_dir is not None:
        return tenants_dir
    configured = os.environ.get(TENANTS_DIR_ENV)
    return Path(configured) if configured else DEFAULT_TENANTS_DIR


def display_path(file: Path) -> str:
    """Paths relative to the working directory read best in errors; absolute otherwise."""
    try:
        return str(file.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(file)


def validate_tenant_id(tenant_id: str, folder: Path) -> None:
    reserved = reserved_tenant_ids()
    if not IDENTIFIER_RE.match(tenant_id) or tenant_id in reserved:
        raise ConfigError(
            tenant_id,
            [
                ConfigIssue(
                    display_path(folder), None, "",
                    f"tenant id {tenant_id!r} is not allowed: it must match {IDENTIFIER_PATTERN} "
                    f"and not be the name of a module of the etl package ({sorted(reserved)})",
                )
            ],
        )


def load_common_pipelines(file: Path = COMMON_PIPELINES_FILE) -> YamlDocument:
    doc = _parse(file, tenant="common")
    duplicates = _duplicate_names(doc, ("pipelines",))
    if duplicates:
        raise ConfigError("common", duplicates)
    try:
        CommonPipelines.model_validate(doc.data)
    except ValidationError as e:
        raise ConfigError("common", _issues(e, doc, None, (), CommonPipelines, doc.data)) from e
    return doc


def load_tenant_config(
    tenant_id: str,
    tenants_dir: Path | None = None,
    common_file: Path | None = COMMON_PIPELINES_FILE,
) -> LoadedTenant:
    """Read, merge and validate one tenant; raises ``ConfigError`` naming file, line and field."""
    folder = tenants_root(tenants_dir) / tenant_id
    validate_tenant_id(tenant_id, folder)
    file = folder / CONFIG_FILE_NAME
    if not file.is_file():
        raise ConfigError(
            tenant_id,
            [ConfigIssue(display_path(file), None, "",
                         "file not found; copy etl/tenants/_template")],
        )
    return load_tenant_document(tenant_id, folder, _parse(file, tenant=tenant_id), common_file)


def load_tenant_document(
    tenant_id: str,
    folder: Path,
    doc: YamlDocument,
    common_file: Path | None = COMMON_PIPELINES_FILE,
) -> LoadedTenant:
    """Merge and validate a tenant's parsed config, wherever it was written.

    ``doc`` carries the line of every key, so errors point into the file it came from: the
    tenant's ``config.yaml``, or the ``attributes:`` of a ``defs.yaml`` (:mod:`etl.components`).
    """
    file = doc.file
    common = load_common_pipelines(common_file) if common_file is not None else None
    if not isinstance(doc.data, dict):
        raise ConfigError(tenant_id, [ConfigIssue(display_path(file), doc.line_of(()), "",
                                                  "expected a mapping")])
    duplicates = _duplicate_names(doc, PIPELINES_PATH)
    if duplicates:
        raise ConfigError(tenant_id, duplicates)
    merged, origins = _merge_pipelines(doc, common, tenant_id)
    try:
        config = TenantConfig.model_validate(merged)
    except ValidationError as e:
        raise ConfigError(
            tenant_id, _issues(e, doc, common, origins, TenantConfig, merged)
        ) from e
    loaded = LoadedTenant(tenant_id, folder, config, doc, common, origins)
    if config.tenant.id != tenant_id:
        raise ConfigError(
            tenant_id,
            [loaded.issue(("tenant", "id"), f"is {config.tenant.id!r} but the folder is "
                          f"{tenant_id!r}; they must match")],
        )
    return loaded


def _parse(file: Path, tenant: str) -> YamlDocument:
    try:
        return load_yaml(file)
    except UnicodeDecodeError as e:
        raise ConfigError(tenant, [ConfigIssue(
            display_path(file), None, "",
            f"not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start}); save the file "
            "as UTF-8",
        )]) from e
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(
            tenant, [ConfigIssue(display_path(file), line, "", f"invalid YAML: {e.problem}")]
        ) from e


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
            issues.append(ConfigIssue(
                display_path(doc.file), doc.line_of(path), _dotted(path),
                f"pipeline {name!r} is listed twice (first at line {first_line[name]}); "
                "merge the two entries",
            ))
        else:
            first_line[name] = doc.line_of(path)
    return issues


def _merge_pipelines(
    doc: YamlDocument, common: YamlDocument | None, tenant: str
) -> tuple[dict[str, Any], tuple[PipelineOrigin, ...]]:
    data: dict[str, Any] = dict(doc.data)
    assets = data.get("assets") or {}
    if not isinstance(assets, dict):
        return data, ()
    own = assets.get("pipelines") or []
    base = (common.data or {}).get("pipelines") or [] if common else []
    if not isinstance(own, list) or not isinstance(base, list):
        return data, ()
    merged: list[Any] = []
    origins: list[PipelineOrigin] = []
    by_name: dict[Any, int] = {}
    for i, item in enumerate(base):
        by_name[item.get("name") if isinstance(item, dict) else None] = len(merged)
        merged.append(item)
        origins.append(PipelineOrigin(i, None))
    for i, item in enumerate(own):
        name = item.get("name") if isinstance(item, dict) else None
        if name is not None and name in by_name and isinstance(merged[by_name[name]], dict):
            at = by_name[name]
            merged[at] = _deep_merge(merged[at], item)
            origins[at] = PipelineOrigin(origins[at].common_index, i)
        else:
            merged.append(item)
            origins.append(PipelineOrigin(None, i))
    data["assets"] = {**assets, "pipelines": merged}
    return data, tuple(origins)


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _issues(
    error: ValidationError,
    doc: YamlDocument,
    common: YamlDocument | None,
    origins: tuple[PipelineOrigin, ...],
    model: type[BaseModel],
    data: Any,
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for err in error.errors(include_url=False):
        loc = _strip_union_tags(tuple(err["loc"]), data)
        where = _locate(loc, doc, common, origins)
        message = _message(err, loc, model, data)
        issues.append(ConfigIssue(where.file, where.line, where.path, message))
    return issues


def _strip_union_tags(loc: PathKey, data: Any) -> PathKey:
    """Pydantic puts a discriminated union's tag into ``loc``; the YAML has no such key."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part not in node:
            if any(isinstance(v, str) and v == part for v in node.values()):
                continue
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else (
            node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node)
            else None
        )
    return tuple(out)


def _locate(
    path: PathKey,
    doc: YamlDocument,
    common: YamlDocument | None,
    origins: tuple[PipelineOrigin, ...],
) -> ConfigIssueLocation:
    """Map a path in the merged config back to the file, line and path where it was written."""
    if (
        len(path) > 2 and path[:2] == PIPELINES_PATH and isinstance(path[2], int)
        and path[2] < len(origins)
    ):
        origin = origins[path[2]]
        rest = path[3:]
        if origin.tenant_index is not None and (
            origin.common_index is None or doc.has((*PIPELINES_PATH, origin.tenant_index, *rest))
            or common is None
        ):
            local = (*PIPELINES_PATH, origin.tenant_index, *rest)
            return ConfigIssueLocation(display_path(doc.file), doc.line_of(local), _dotted(local))
        if common is not None and origin.common_index is not None:
            local = ("pipelines", origin.common_index, *rest)
            return ConfigIssueLocation(
                display_path(common.file), common.line_of(local), _dotted(local)
            )
    return ConfigIssueLocation(display_path(doc.file), doc.line_of(path), _dotted(path))


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _message(err: Mapping[str, Any], loc: PathKey, model: type[BaseModel], data: Any) -> str:
    kind = err["type"]
    msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1], data)
        hint = f"; allowed fields: {', '.join(allowed)}" if allowed else ""
        return f"unknown field {loc[-1]!r}{hint}"
    if kind == "missing":
        return "required field is missing"
    value = err.get("input")
    if (isinstance(value, str | int | float | bool) or value is None) and repr(value) not in msg:
        msg = f"{msg} (got {value!r})"
    return redact(msg)  # a rejected URL may carry the very password it is rejected for


def _allowed_fields(model: Any, loc: PathKey, data: Any) -> list[str]:
    """Field names valid at ``loc``, found by walking the model's annotations.

    For a discriminated union (``warehouse``) only the variant named by ``type`` counts.
    """
    candidates: list[Any] = [model]
    node = data
    for part in loc:
        node = node.get(part) if isinstance(node, dict) and isinstance(part, str) else (
            node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node)
            else None)
        nxt: list[Any] = []
        for cand in candidates:
            for typ in _unwrap(cand):
                if isinstance(part, int):
                    args = [a for a in get_args(typ) if a is not Ellipsis]
                    nxt.extend(args)
                elif isinstance(typ, type) and issubclass(typ, BaseModel):
                    info = typ.model_fields.get(part)
                    if info is not None:
                        nxt.append(info.annotation)
        candidates = nxt
    models = [t for c in candidates for t in _unwrap(c)
              if isinstance(t, type) and issubclass(t, BaseModel)]
    kind = node.get("type") if isinstance(node, dict) else None
    chosen = [m for m in models if kind in _literal_values(m, "type")] or models
    names: list[str] = []
    for typ in chosen:
        names.extend(n for n in typ.model_fields if n not in names)
    return names


def _literal_values(model: type[BaseModel], field_name: str) -> tuple[Any, ...]:
    """The values a ``Literal`` field allows (a discriminated union's tag)."""
    info = model.model_fields.get(field_name)
    return get_args(info.annotation) if info is not None else ()


def _unwrap(typ: Any) -> Sequence[Any]:
    origin = get_origin(typ)
    if origin is Union or origin is types.UnionType:
        return [t for a in get_args(typ) for t in _unwrap(a)]
    if origin is not None and getattr(origin, "__name__", "") == "Annotated":
        return _unwrap(get_args(typ)[0])
    if hasattr(typ, "__metadata__"):
        return _unwrap(get_args(typ)[0])
    return [typ]
