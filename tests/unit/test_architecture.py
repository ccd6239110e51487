"""The package's seams hold: no import cycles, small modules, one registry per kind of part.

These read the source itself (``ast``), so they fail on the change that breaks a rule, before
any behaviour does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import dagster as dg
import pytest

from etl import naming
from etl.checks.base import CheckRule
from etl.checks.registry import CHECK_KINDS
from etl.model.kinds import kind_name
from etl.sources.dialects.registry import DIALECTS, GENERIC, dialect_for
from etl.sources.duckdb_reader import extension_path
from etl.utils.secrets import secret_values
from etl.warehouse.base import WarehouseConfigBase, WarehouseResource
from etl.warehouse.registry import WAREHOUSE_KINDS
from tests.check_texts import ExampleScope
from tests.source_tree import parse

PACKAGE = naming.PACKAGE_DIR
MAX_MODULE_LINES = 400
BACKEND_NAMES = {"postgresql", "postgres", "mysql", "mariadb", "sqlite", "mssql", "oracle"}


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def module_level_imports(path: Path, name: str, is_package: bool) -> set[str]:
    """Modules ``name`` imports at its top level, ``TYPE_CHECKING`` blocks included: a loop
    that only type checkers follow is still two modules that cannot be read one at a time."""
    tree = parse(path)
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}" if base else package
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(tree.body)
    return found


def test_no_import_cycles() -> None:
    known = dict(modules())
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for imported in module_level_imports(path, name, path.name == "__init__.py"):
            # Importing a.b.c runs the package a.b's __init__ first: those are edges too.
            parts = imported.split(".")
            targets.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        graph[name] = {t for t in targets if t in known and t != name}
    cycles = _cycles(graph)
    assert cycles == [], f"import cycles: {cycles}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            strong(v)
    return found


def test_no_module_is_over_400_lines() -> None:
    long = {name: n for name, path in modules()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def _string_constants(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return {c for e in node.elts for c in _string_constants(e)}
    return set()


def test_backend_names_are_compared_only_in_dialect_modules() -> None:
    offenders = []
    for name, path in modules():
        if name.startswith("etl.sources.dialects"):
            continue
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.Compare):
                values = set().union(*(_string_constants(n) for n in [node.left,
                                                                      *node.comparators]))
                if values & BACKEND_NAMES:
                    offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_concrete_warehouses_are_named_only_in_warehouse_modules() -> None:
    concrete = {k.__name__ for k in WAREHOUSE_KINDS} | {
        "DuckDBWarehouse", "DuckDBWarehouseResource", "TrinoWarehouse", "TrinoWarehouseResource"}
    offenders = []
    for name, path in modules():
        if name.startswith("etl.warehouse"):
            continue
        for node in ast.walk(parse(path)):
            names = {node.id} if isinstance(node, ast.Name) else (
                {a.name for a in node.names} if isinstance(node, ast.ImportFrom) else set())
            if names & concrete:
                offenders.append(f"{name}:{getattr(node, 'lineno', 0)}")
    assert offenders == []


@pytest.mark.parametrize("kind", WAREHOUSE_KINDS, ids=kind_name)
def test_every_warehouse_kind_provides_the_whole_contract(kind: type[WarehouseConfigBase]) -> None:
    assert issubclass(kind, WarehouseConfigBase)
    (literal,) = get_args(kind.model_fields["type"].annotation)
    assert kind.example["type"] == literal
    assert isinstance(kind.asset_kind, str) and kind.asset_kind
    config = kind.model_validate(kind.example)
    resource = config.build_resource("t1")
    assert isinstance(resource, WarehouseResource)
    assert type(resource).warehouse is not WarehouseResource.warehouse
    loader = resource.warehouse()
    assert callable(getattr(loader, "load", None)) and callable(getattr(loader, "count_days", None))
    assert callable(getattr(loader, "count_all", None))
    refusals = {mode: config.merge_refusal(mode) for mode in (None, *kind.load_modes)}
    if any(r is None for r in refusals.values()):  # it merges in some mode: it has merge()
        assert callable(getattr(loader, "merge", None))
    assert all(r is None or (isinstance(r, str) and r) for r in refusals.values())
    assert config.schema_for("t1") == "t1" and config.target("t1")[-1] == "t1"
    assert config.describe("t1")
    # Every variable a kind reads a secret from ends up in a secret field of its resource.
    env_fields = [f for f in kind.model_fields if f.endswith("_env")]
    for field in env_fields:
        with_secret = dict(kind.example, **_auth_for(kind, field))
        built = kind.model_validate(with_secret).build_resource("t1")
        assert dg.EnvVar(f"ETL_TEST_{field.upper()}") in _env_vars(built), field


def _auth_for(kind: type[WarehouseConfigBase], field: str) -> dict[str, Any]:
    extra: dict[str, Any] = {field: f"ETL_TEST_{field.upper()}"}
    if "http_scheme" in kind.model_fields:
        extra["http_scheme"] = "https"
    return extra


def _env_vars(resource: dg.ConfigurableResource) -> list[object]:  # type: ignore[type-arg]
    """Values of the resource's secret fields, nested resources included (unresolved)."""
    out: list[object] = []
    for name, info in type(resource).model_fields.items():
        value = getattr(resource, name)
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("dagster__is_secret"):
            out.append(value)
        elif isinstance(value, dg.ConfigurableResource):
            out.extend(_env_vars(value))
    return out


def test_warehouse_kinds_have_distinct_names() -> None:
    names = [kind_name(k) for k in WAREHOUSE_KINDS]
    assert len(names) == len(set(names)) and "duckdb" in names and "trino" in names


def test_secret_values_walk_nested_resources() -> None:
    from etl.warehouse.trino import TrinoWarehouseConfig

    resource = TrinoWarehouseConfig(type="trino", host="h").build_resource("t1")
    resolved = resource.model_copy(
        update={"trino": resource.trino.model_copy(update={"password": "s3cret-value"})})
    assert secret_values(resolved) == ["s3cret-value"]


def test_dialects_are_chosen_by_backend_name_and_their_scanners_ship() -> None:
    names = [n for d in DIALECTS for n in d.names]
    assert len(names) == len(set(names))
    for dialect in DIALECTS:
        for backend in dialect.names:
            assert dialect_for(backend) is dialect
        if dialect.scanner is not None:
            assert extension_path(dialect.scanner).is_file()
    assert dialect_for("mssql") is GENERIC and GENERIC.scanner is None and not GENERIC.casts


def test_reserved_tenant_ids_come_from_the_package() -> None:
    reserved = naming.reserved_tenant_ids()
    framework = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    locations = {"default", "project_01"}
    assert reserved == framework - locations
    assert {"scaffold", "cli", "naming", "all", "tenants", "config"} <= reserved
    assert "storage" not in reserved  # not a module of the package


def test_concrete_check_kinds_are_named_only_in_check_modules() -> None:
    concrete = {k.__name__ for k in CHECK_KINDS}
    offenders = []
    for name, path in modules():
        if name.startswith("etl.checks"):
            continue
        for node in ast.walk(parse(path)):
            names = {node.id} if isinstance(node, ast.Name) else (
                {a.name for a in node.names} if isinstance(node, ast.ImportFrom) else set())
            if names & concrete:
                offenders.append(f"{name}:{getattr(node, 'lineno', 0)}")
    assert offenders == []


@pytest.mark.parametrize("kind", CHECK_KINDS, ids=kind_name)
def test_every_check_kind_provides_the_whole_contract(kind: type[CheckRule]) -> None:
    """Its example parses, names and describes itself, and judges a passing and a failing day
    (``example_days``: rows of ``input(id, status)``) from the SQL it gives."""
    assert issubclass(kind, CheckRule)
    (literal,) = get_args(kind.model_fields["type"].annotation)
    assert kind.example["type"] == literal
    rule = kind.model_validate(kind.example)
    assert rule.kind == literal and rule.check_name and rule.text()
    for rows, passed in zip(kind.example_days, (True, False), strict=True):
        scope = ExampleScope(rows)
        judged = rule.judge(scope, int(scope.scalar(rule.measure(scope)) or 0), len(rows))
        assert judged.passed is passed and judged.text, (rows, judged)
        if not passed:
            assert judged.metadata, "a failure says what it found"


def test_check_kinds_have_distinct_names_and_build_the_config_union() -> None:
    from etl.checks.config import ChecksConfig

    names = [kind_name(k) for k in CHECK_KINDS]
    assert len(names) == len(set(names))
    rules = ChecksConfig.model_validate({"rules": [k.example for k in CHECK_KINDS]}).rules
    assert [type(r) for r in rules] == list(CHECK_KINDS)


def test_every_cli_module_is_one_command_in_the_table() -> None:
    from etl.cli.command import Command
    from etl.cli.main import COMMANDS

    helpers = {"__init__", "__main__", "main", "command"}
    found = {p.stem for p in (PACKAGE / "cli").glob("*.py")} - helpers
    listed = {c.name for c in COMMANDS}
    assert found == {c.run.__module__.rpartition(".")[2] for c in COMMANDS}
    for stem in found:
        module = __import__(f"etl.cli.{stem}", fromlist=["COMMAND"])
        assert isinstance(module.COMMAND, Command) and module.COMMAND.name in listed


def test_concrete_alert_kinds_are_named_only_in_alert_modules() -> None:
    from etl.alerts.registry import ALERT_KINDS

    concrete = {k.__name__ for k in ALERT_KINDS}
    offenders = []
    for name, path in modules():
        if name.startswith("etl.alerts"):
            continue
        for node in ast.walk(parse(path)):
            names = {node.id} if isinstance(node, ast.Name) else (
                {a.name for a in node.names} if isinstance(node, ast.ImportFrom) else set())
            if names & concrete:
                offenders.append(f"{name}:{getattr(node, 'lineno', 0)}")
    assert offenders == []


def _alert_kinds() -> tuple[type[Any], ...]:
    from etl.alerts.registry import ALERT_KINDS

    return ALERT_KINDS


@pytest.mark.parametrize("kind", _alert_kinds(), ids=lambda k: k.__name__)
def test_every_alert_kind_provides_the_whole_contract(
        kind: type[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Its example parses; a send without its variables fails naming the field, never a
    value; every variable it reads is among the secrets redaction masks."""
    from etl.alerts.base import AlertMessage, DeliveryError, DestinationConfig

    assert issubclass(kind, DestinationConfig) and kind.send is not DestinationConfig.send
    (literal,) = get_args(kind.model_fields["type"].annotation)
    assert kind.example["type"] == literal
    config = kind.model_validate(kind.example)
    variables = _env_names(config)
    assert variables, "a destination reads at least one secret from the environment"
    for variable in variables:
        monkeypatch.delenv(variable, raising=False)
    message = AlertMessage("run_failed", "run.r1", "t1", "[t1] run failed")
    with pytest.raises(DeliveryError, match=r"names the environment variable \w+, which is "):
        config.send(message, 1.0)
    for n, variable in enumerate(variables):
        monkeypatch.setenv(variable, f"http://127.0.0.1:9/secret-{n}-0123456789")
    assert sorted(config.secrets()) == sorted(
        f"http://127.0.0.1:9/secret-{n}-0123456789" for n in range(len(variables)))
    assert "secret-" not in config.label()


def _env_names(model: Any) -> list[str]:
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name.endswith("_env") and isinstance(value, str):
            found.append(value)
        for item in value if isinstance(value, tuple) else ():
            if hasattr(type(item), "model_fields"):
                found.extend(_env_names(item))
    return found


def test_alert_kinds_have_distinct_names_and_build_the_config_union() -> None:
    from etl.alerts.registry import ALERT_KINDS
    from etl.config.alerts import AlertsConfig


    names = [kind_name(k) for k in ALERT_KINDS]
    assert len(names) == len(set(names)) and {"slack", "email", "webhook"} <= set(names)
    parsed = AlertsConfig.model_validate({"destinations": [k.example for k in ALERT_KINDS]})
    assert [type(d) for d in parsed.destinations] == list(ALERT_KINDS)
