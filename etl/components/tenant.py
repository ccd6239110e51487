"""``EtlTenant``: one tenant in any ``dg`` project, as ``defs/<tenant>/defs.yaml``.

Its ``attributes:`` are the tenant's ``config.yaml``, block for block; the common pipelines
are inherited as they are for a tenant folder, and a custom transfer lives beside the file in
``defs/<tenant>/assets/transfer.py``. The definitions come from the same factory as the
framework's own code locations (job names prefixed with the tenant, as in ``etl.all``), and a
config error names ``defs.yaml``, its line and the field, like one in ``config.yaml`` does.

Example ``defs/acme/defs.yaml``::

    type: etl.components.EtlTenant
    attributes:
      tenant: {id: acme, name: Acme}
      source: {url: "sqlite:///acme.db"}
      storage: {root: lake}
      warehouse: {type: duckdb, path: warehouse.duckdb}
      schedule: {start_date: 2026-01-01}
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import dagster as dg
from pydantic import BaseModel, ConfigDict, Field, create_model

from etl.config.config_loader import LoadedTenant, load_tenant_document
from etl.config.tenant_config import TenantConfig
from etl.config.yaml_lines import PathKey, YamlDocument

ATTRIBUTES: PathKey = ("attributes",)


def _attributes_model() -> type[BaseModel]:
    """TenantConfig's blocks, each taken as written: unknown blocks fail in ``dg check yaml``,
    the blocks themselves are validated (with the common pipelines merged in) at load."""
    fields: dict[str, Any] = {
        name: (Any, Field(description=info.description) if info.is_required()
               else Field(default=None, description=info.description))
        for name, info in TenantConfig.model_fields.items()
    }
    return create_model("EtlTenantAttributes", __config__=ConfigDict(extra="forbid"), **fields)


EtlTenantAttributes = _attributes_model()


class EtlTenant(dg.Component):
    """A tenant of the etl framework: extract, transfer and load assets, jobs, schedules,
    quality and freshness checks, built from the tenant config in ``attributes``."""

    def __init__(self, loaded: LoadedTenant) -> None:
        self.loaded = loaded

    @classmethod
    def get_model_cls(cls) -> type[BaseModel]:
        return EtlTenantAttributes

    @classmethod
    def load(cls, attributes: BaseModel | None, context: dg.ComponentLoadContext) -> Self:
        folder = Path(context.path)
        data = attributes.model_dump(exclude_unset=True) if attributes is not None else {}
        tree = context.resolution_context.source_position_tree
        return cls(load_tenant_document(folder.name, folder, document(data, tree, folder)))

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        from etl.factories.definitions_factory import tenant_definitions

        return tenant_definitions(self.loaded, qualified=True)


def document(data: dict[str, Any], tree: Any, folder: Path) -> YamlDocument:
    """The attributes as a :class:`YamlDocument`: their lines in ``defs.yaml``, re-rooted so
    ``tenant.id`` is found where ``attributes.tenant.id`` was written."""
    lines: dict[PathKey, int] = {}
    file = folder / "defs.yaml"
    if tree is not None:
        file = Path(tree.position.filename)
        node = tree
        for part in ATTRIBUTES:
            node = node.children.get(part, node)
        lines = dict(_lines(node, ()))
    lines.setdefault((), 1)
    return YamlDocument(file, data, lines)


def _lines(node: Any, path: PathKey) -> Iterator[tuple[PathKey, int]]:
    yield path, int(node.position.start.line)
    for key, child in node.children.items():
        yield from _lines(child, (*path, key))
