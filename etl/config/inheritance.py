"""Which common pipelines a tenant inherits, and how its own entries merge over them.

``assets.inherit`` chooses: ``all`` (the default), ``none``, or a list of common pipelines'
names. A tenant entry with the name of an inherited pipeline is deep-merged over it (only the
keys it writes change; ``enabled: false`` disables it); other entries are new pipelines, which
need a ``table`` or a ``query``. An entry that has neither and matches no common pipeline is a
misspelt override, reported as one ("did you mean 'work_order'?"), not as a broken new pipeline.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from etl.config.errors import ConfigIssue
from etl.config.issues import PIPELINES_PATH, PipelineOrigin, issue_at
from etl.config.yaml_lines import PathKey, YamlDocument

INHERIT_PATH: Final[PathKey] = ("assets", "inherit")
INHERIT_FIELD: Final = "assets.inherit"
INHERIT_ALL: Final = "all"
INHERIT_NONE: Final = "none"


@dataclass(frozen=True)
class Merged:
    """The tenant's data with the pipelines merged, where each came from, and any problem."""

    data: dict[str, Any]
    origins: tuple[PipelineOrigin, ...]
    issues: tuple[ConfigIssue, ...]


def merge_pipelines(doc: YamlDocument, common: YamlDocument | None) -> Merged:
    data: dict[str, Any] = dict(doc.data)
    assets = data.get("assets") or {}
    if not isinstance(assets, dict):
        return Merged(data, (), ())
    own = assets.get("pipelines") or []
    base = (common.data or {}).get("pipelines") or [] if common else []
    if not isinstance(own, list) or not isinstance(base, list):
        return Merged(data, (), ())
    common_names = [_name(item) for item in base if isinstance(_name(item), str)]
    inherited, issues = _inherited(doc, assets.get("inherit", INHERIT_ALL), common_names)
    merged: list[Any] = []
    origins: list[PipelineOrigin] = []
    by_name: dict[Any, int] = {}
    for i, item in enumerate(base):
        if _name(item) in inherited:
            by_name[_name(item)] = len(merged)
            merged.append(item)
            origins.append(PipelineOrigin(i, None))
    for i, item in enumerate(own):
        name = _name(item)
        if name is not None and name in by_name and isinstance(merged[by_name[name]], dict):
            at = by_name[name]
            merged[at] = _deep_merge(merged[at], item)
            origins[at] = PipelineOrigin(origins[at].common_index, i)
            continue
        if common is not None and _is_override(item):
            issues.append(_unknown_override(doc, i, str(name), common_names))
        merged.append(item)
        origins.append(PipelineOrigin(None, i))
    data["assets"] = {**assets, "pipelines": merged}
    return Merged(data, tuple(origins), tuple(issues))


def _inherited(doc: YamlDocument, inherit: Any,
               common_names: Sequence[str]) -> tuple[set[str], list[ConfigIssue]]:
    """The names inherited; an unknown name is an issue, a wrong type is left to the model."""
    if inherit == INHERIT_NONE:
        return set(), []
    if not isinstance(inherit, list):
        return set(common_names), []
    issues = [
        issue_at(doc, (*INHERIT_PATH, i), _no_such_pipeline(name, common_names))
        for i, name in enumerate(inherit) if isinstance(name, str) and name not in common_names
    ]
    return {n for n in inherit if isinstance(n, str)}, issues


def _is_override(item: Any) -> bool:
    """An entry that only changes keys: it names a pipeline but reads no table or query."""
    return (isinstance(item, dict) and isinstance(item.get("name"), str)
            and item.get("table") is None and item.get("query") is None)


def _unknown_override(doc: YamlDocument, index: int, name: str,
                      common_names: Sequence[str]) -> ConfigIssue:
    path = (*PIPELINES_PATH, index, "name")
    if name in common_names:
        return issue_at(doc, path, (
            f"common pipeline {name!r} is not inherited ({INHERIT_FIELD} leaves it out); "
            f"add it to {INHERIT_FIELD}, or give this entry a 'table' or 'query' of its own"))
    return issue_at(doc, path, (
        f"{_no_such_pipeline(name, common_names)} (a new pipeline needs a 'table' or 'query')"))


def _no_such_pipeline(name: str, common_names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, common_names, n=1) or [
        c for c in common_names if c.startswith(name)]
    if close:
        return f"no common pipeline named {name!r}; did you mean {close[0]!r}?"
    listed = ", ".join(common_names) or "none"
    return f"no common pipeline named {name!r} (common pipelines: {listed})"


def _name(item: Any) -> Any:
    return item.get("name") if isinstance(item, dict) else None


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
