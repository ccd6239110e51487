"""The package's floors: its top-level parts import each other one way only, the parts a
config assembles never import the config, and every kind a part defines is registered.

``test_architecture.py`` finds cycles between modules; these find the ones between parts (two
modules can each import the other's part without importing each other), counting imports
inside functions too, since a lazy import still ties the two parts together.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from etl import naming
from etl.checks.base import CheckRule
from etl.checks.registry import CHECK_KINDS
from etl.warehouse.base import WarehouseConfigBase
from etl.warehouse.registry import WAREHOUSE_KINDS
from tests.source_tree import parse
from tests.unit.test_architecture import _cycles, modules

PACKAGE = naming.PACKAGE_DIR
# The parts a tenant config is assembled from: they build on etl/model, never on etl/config.
ASSEMBLED = ("warehouse", "sources", "checks", "alerts", "model", "utils", "instance")


def _part(module: str) -> str:
    """``etl.stages.step`` -> ``stages``; a top-level module is a part of its own."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "etl"


def _imports(path: Path) -> set[str]:
    """Every ``etl`` module ``path`` imports, at any depth (functions and TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("etl.")}


def _part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in modules():
        edges = graph.setdefault(_part(name), set())
        for imported in _imports(path):
            part = _part(imported)
            if part != _part(name):
                edges.add(part)
                graph.setdefault(part, set())
    return graph


def test_the_parts_import_each_other_one_way() -> None:
    assert _cycles(_part_graph()) == []


def test_the_parts_a_config_assembles_never_import_the_config() -> None:
    offenders = sorted(f"{name} imports {imported}" for name, path in modules()
                       if _part(name) in ASSEMBLED
                       for imported in _imports(path) if _part(imported) == "config")
    assert offenders == []


def _defined(package: str, base: type) -> set[type]:
    import importlib

    found: set[type] = set()
    for name, _ in modules():
        if name.startswith(f"etl.{package}"):
            module = importlib.import_module(name)
            found.update(c for _, c in inspect.getmembers(module, inspect.isclass)
                         if issubclass(c, base) and c is not base and c.__module__ == name
                         and not inspect.isabstract(c) and "type" in getattr(
                             c, "model_fields", {}))
    return found


def test_every_check_kind_defined_is_registered() -> None:
    assert _defined("checks", CheckRule) == set(CHECK_KINDS)


def test_every_warehouse_kind_defined_is_registered() -> None:
    assert _defined("warehouse", WarehouseConfigBase) == set(WAREHOUSE_KINDS)
