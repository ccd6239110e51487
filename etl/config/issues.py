"""Pydantic's errors as :class:`ConfigIssue`: the file, line and dotted field they came from.

A tenant's merged config mixes two files (``etl/common/pipelines.yaml`` and the tenant's own),
so every path is mapped back to where it was written. A message names the rejected value and
what is allowed, with three exceptions: a value in a ``*_env`` field is never echoed (it is
often the secret itself, pasted where its variable's name belongs), a value read from any file
but the tenant's own config is never echoed either (the tenant wrote nothing else, and a file
reached some other way may hold anything), and a long value is shortened.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from etl.config.errors import ConfigIssue
from etl.config.yaml_lines import PathKey, YamlDocument
from etl.model.base import ENV_FIELD_SUFFIX, FieldError
from etl.utils.logging import redact

PIPELINES_PATH: Final[PathKey] = ("assets", "pipelines")
MAX_ISSUES: Final = 50
"""Issues reported per file; a hostile file's 100,000 unknown keys need no 100,000 lines."""
_MAX_ECHO: Final = 80
_NAME_LIKE = re.compile(r"^(?:[a-z_][a-z0-9_.-]*|[A-Z_][A-Z0-9_.-]*)$")
ENV_NAME_RULE: Final = (
    "upper-case letters, digits and '_', starting with a letter or '_', "
    "e.g. PROJECT_01_DB_PASSWORD"
)
SECRET_NOT_NAME: Final = (
    "this looks like a secret value, not an environment-variable name; put the value in an "
    f"environment variable and write that variable's name here ({ENV_NAME_RULE})"
)
NOT_A_NAME: Final = (
    f"not an environment-variable name; write the variable's name ({ENV_NAME_RULE}); the "
    "value is not repeated here in case it is a secret"
)


@dataclass(frozen=True)
class PipelineOrigin:
    """Where a merged pipeline came from: its index in the common and/or the tenant file."""

    common_index: int | None
    tenant_index: int | None


@dataclass(frozen=True)
class ConfigIssueLocation:
    file: str
    line: int | None
    path: str


def issues_from(
    error: ValidationError,
    doc: YamlDocument,
    common: YamlDocument | None,
    origins: tuple[PipelineOrigin, ...],
    model: type[BaseModel],
    data: Any,
    defaults: YamlDocument | None = None,
) -> list[ConfigIssue]:
    """One issue per Pydantic error (at most :data:`MAX_ISSUES`), located in its own file."""
    issues: list[ConfigIssue] = []
    errors = error.errors(include_url=False)
    for err in errors[:MAX_ISSUES]:
        loc = tuple(err["loc"])
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            loc = (*loc, *cause.at)
        loc = _strip_union_tags(loc, data)
        where = locate(loc, doc, common, origins, defaults)
        own_file = where.file == display_path(doc.file)
        message = (redact(str(cause)) if isinstance(cause, FieldError)
                   else _message(err, loc, model, data, echo_value=own_file))
        issues.append(ConfigIssue(where.file, where.line, where.path, message))
    if len(errors) > MAX_ISSUES:
        last = issues[-1]
        issues.append(ConfigIssue(last.file, last.line, "", (
            f"... and {len(errors) - MAX_ISSUES} more problems; fix these first")))
    return issues


def locate(
    path: PathKey,
    doc: YamlDocument,
    common: YamlDocument | None,
    origins: tuple[PipelineOrigin, ...],
    defaults: YamlDocument | None = None,
) -> ConfigIssueLocation:
    """Map a path in the merged config back to the file, line and path where it was written.

    ``defaults`` is a common file of blocks (``etl/common/alerts.yaml``): a key of a block the
    tenant did not write itself but that file did is located there.
    """
    if (defaults is not None and len(path) > 1 and not doc.has(path[:2])
            and defaults.has(path[:2])):
        return ConfigIssueLocation(display_path(defaults.file), defaults.line_of(path),
                                   dotted(path))
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
            return ConfigIssueLocation(display_path(doc.file), doc.line_of(local), dotted(local))
        if common is not None and origin.common_index is not None:
            local = ("pipelines", origin.common_index, *rest)
            return ConfigIssueLocation(display_path(common.file), common.line_of(local),
                                       dotted(local))
    return ConfigIssueLocation(display_path(doc.file), doc.line_of(path), dotted(path))


def display_path(file: Path) -> str:
    """Paths relative to the working directory read best in errors; absolute otherwise.

    Links are not resolved: an error about a link names the link, not where it leads.
    """
    try:
        return str(Path(os.path.abspath(file)).relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def issue_at(doc: YamlDocument, path: PathKey, message: str) -> ConfigIssue:
    """An issue at ``path`` of one file (the deepest part of it the file has)."""
    return ConfigIssue(display_path(doc.file), doc.line_of(path), dotted(path), message)


def dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def echo(value: object) -> str:
    """``repr(value)``, shortened when long (a hostile file's megabyte scalar)."""
    text = repr(value)
    if len(text) <= _MAX_ECHO:
        return text
    size = f"{len(value)} characters" if isinstance(value, str) else "shortened"
    return f"{text[:_MAX_ECHO - 20]}... ({size})"


def env_name_message(value: object) -> str:
    """What to say about a bad value in a ``*_env`` field, without repeating it."""
    return NOT_A_NAME if isinstance(value, str) and _NAME_LIKE.match(value) else SECRET_NOT_NAME


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


def _message(err: Mapping[str, Any], loc: PathKey, model: type[BaseModel], data: Any,
             echo_value: bool = True) -> str:
    kind = err["type"]
    msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1], data)
        hint = f"; allowed fields: {', '.join(allowed)}" if allowed else ""
        return f"unknown field {echo(loc[-1])}{hint}"
    if kind == "missing":
        return "required field is missing"
    value = err.get("input")
    if loc and isinstance(loc[-1], str) and loc[-1].endswith(ENV_FIELD_SUFFIX):
        return env_name_message(value)
    if echo_value and (isinstance(value, str | int | float | bool) or value is None) and (
            repr(value) not in msg):
        msg = f"{msg} (got {echo(value)})"
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
