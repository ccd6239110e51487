"""Every invalid config in ``invalid_configs/`` fails with the message its folder is named for."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl import build_all_definitions, build_tenant_definitions
from etl.config.errors import ConfigError, TenantsConfigError
from tests.source_tree import parse

CASES_DIR = Path(__file__).parent / "invalid_configs"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "config.yaml").is_file())


def expected_lines(case: str) -> list[str]:
    return [ln for ln in (CASES_DIR / case / "expected.txt").read_text().splitlines() if ln]


@pytest.mark.parametrize("case", CASES)
def test_invalid_config_message(case: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_tenant_definitions(case, tenants_dir=CASES_DIR)
    message = str(info.value)
    assert message.startswith(f"Invalid configuration for tenant {case!r}:")
    for line in expected_lines(case):
        assert line in message, f"expected {line!r} in:\n{message}"


def test_every_case_names_file_and_line() -> None:
    for case in CASES:
        with pytest.raises(ConfigError) as info:
            build_tenant_definitions(case, tenants_dir=CASES_DIR)
        assert all(issue.line for issue in info.value.issues), case
        assert all(issue.file.endswith("config.yaml") for issue in info.value.issues), case


def test_all_reports_every_broken_tenant_at_once() -> None:
    with pytest.raises(TenantsConfigError) as info:
        build_all_definitions(tenants_dir=CASES_DIR)
    assert {e.tenant for e in info.value.errors} == set(CASES)
    for case in CASES:
        assert f"Invalid configuration for tenant {case!r}" in str(info.value)


def test_invalid_tenant_ids_are_rejected_with_the_rule(tmp_path: Path) -> None:
    for bad in ("all", "Project", "9lives", "common"):
        with pytest.raises(ConfigError, match=r"must match \^\[a-z\]"):
            build_tenant_definitions(bad, tenants_dir=tmp_path)


def test_missing_config_file_says_how_to_start(tmp_path: Path) -> None:
    (tmp_path / "newsite").mkdir()
    with pytest.raises(ConfigError, match="file not found; copy etl/tenants/_template"):
        build_tenant_definitions("newsite", tenants_dir=tmp_path)


def test_all_rejects_two_tenants_sharing_a_warehouse_schema(tmp_path: Path) -> None:
    from tests.helpers import copy_tenants

    tenants = copy_tenants(tmp_path)
    config = tenants / "project_01" / "config.yaml"
    config.write_text(config.read_text().replace(
        "  path: ", "  schema_name: default\n  path: "))
    with pytest.raises(TenantsConfigError) as info:
        build_all_definitions(tenants_dir=tenants)
    (error,) = info.value.errors
    assert error.tenant == "project_01"
    assert ("warehouse.schema_name: tenant 'project_01' would write to " in str(error)
            and "where tenant 'default' already keeps its tables" in str(error))


def _validator_messages() -> list[tuple[str, str]]:
    """(where, literal text) of every ``raise ValueError`` (or ``FieldError``) in a validator.

    Covers the config modules, every warehouse, check and alert destination kind and the
    destinations' base; the literal is the longest constant part of the message, which any
    fixture exercising that branch must contain.
    """
    import ast

    from etl.alerts.registry import ALERT_KINDS
    from etl.checks.registry import CHECK_KINDS
    from etl.naming import PACKAGE_DIR
    from etl.warehouse.registry import WAREHOUSE_KINDS

    files = [*sorted((PACKAGE_DIR / "config").glob("*.py")), PACKAGE_DIR / "checks" / "config.py",
             PACKAGE_DIR / "alerts" / "base.py"]
    files += [Path(__import__(k.__module__, fromlist=["_"]).__file__ or "")
              for k in (*WAREHOUSE_KINDS, *CHECK_KINDS, *ALERT_KINDS)]
    found = []
    for file in files:
        for func in ast.walk(parse(file)):
            if not isinstance(func, ast.FunctionDef) or not any(
                    "validator" in ast.unparse(d) for d in func.decorator_list):
                continue
            for node in ast.walk(func):
                if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                    continue
                kind = ast.unparse(node.exc.func)
                message = {"ValueError": 0, "FieldError": 1}.get(kind)  # FieldError(at, message)
                if message is not None and len(node.exc.args) > message:
                    parts = [n.value for n in ast.walk(node.exc.args[message])
                             if isinstance(n, ast.Constant) and isinstance(n.value, str)]
                    found.append((f"{file.name}:{node.lineno}", max(parts, key=len)))
    return found


def _raised_messages(file: Path, calls: dict[str, int]) -> list[tuple[str, str]]:
    """(where, longest literal) of every call ``name(...)`` in ``file`` that carries a message.

    ``calls`` maps a function or exception name to the index of its message argument.
    """
    import ast

    found = []
    for node in ast.walk(parse(file)):
        if isinstance(node, ast.Call) and (at := calls.get(ast.unparse(node.func))) is not None:
            if len(node.args) > at:
                parts = [n.value for n in ast.walk(node.args[at])
                         if isinstance(n, ast.Constant) and isinstance(n.value, str)]
                if parts:
                    found.append((f"{file.name}:{node.lineno}", max(parts, key=len)))
    return found


def test_every_validator_branch_has_a_bad_config_fixture() -> None:
    from etl.naming import PACKAGE_DIR

    expected = "\n".join((CASES_DIR / c / "expected.txt").read_text() for c in CASES)
    messages = _validator_messages()
    assert len(messages) >= 15
    # What validators delegate to: the transfer-SQL rule and the hostile-YAML loader.
    messages += _raised_messages(PACKAGE_DIR / "utils" / "duckdb_sandbox.py",
                                 {"TransferSqlError": 0})
    messages += _raised_messages(PACKAGE_DIR / "config" / "yaml_lines.py",
                                 {"self._fatal": 1, "YamlProblem": 1})
    # A fixture over the size limit would be a 1 MiB file, one over the pipeline limit 500
    # pipelines: test_hostile_yaml covers those.
    tested_elsewhere = {"; a config may have at most ",
                        ", since its code location builds every pipeline's assets and checks "
                        "when it loads: split the site into several tenants"}
    missing = [(where, text) for where, text in messages
               if text.strip() not in expected and text not in tested_elsewhere]
    assert missing == [], "add a fixture under tests/unit/invalid_configs/ for each"


def test_a_secret_pasted_into_an_env_field_is_never_repeated() -> None:
    """Not in the message, nor in any exception chained to it (Dagster shows those too)."""
    for case, secret in (("secret_in_env_field", "Sup3rS3cret-LITERAL"),
                         ("secret_in_trino_env", "eyJhbGciOi.J9x"),
                         ("alerts_url_pasted", "XXXXSECRET"),
                         ("password_encoded_in_query", "hunter2hunter2"),
                         ("password_encoded_in_user_info", "hunter2hunter2"),
                         ("odbc_password_in_url", "hunter2hunter2"),
                         ("password_in_url", "hunter2"),
                         ("storage_endpoint_with_keys", "s3cr3t"),
                         ("storage_endpoint_with_keys", "AKIAEXAMPLE"),
                         ("storage_endpoint_with_query", "s3cr3t")):
        with pytest.raises(ConfigError) as info:
            build_tenant_definitions(case, tenants_dir=CASES_DIR)
        error: BaseException | None = info.value
        while error is not None:
            assert secret not in str(error), case
            assert secret not in repr(error.args), case
            error = error.__cause__ or error.__context__


def test_yaml_dates_and_odd_numbers_reach_the_model_as_text(tmp_path: Path) -> None:
    from tests.helpers import copy_tenants

    tenants = copy_tenants(tmp_path, ("default",))
    config = tenants / "default" / "config.yaml"
    config.write_text(config.read_text().replace("start_date: 2026-01-01",
                                                 "start_date: 2026-02-30"))
    with pytest.raises(ConfigError, match=r"config.yaml:\d+: schedule.start_date: is not a day "
                                          r"\(day is out of range for month\)"):
        build_tenant_definitions("default", tenants_dir=tenants)
    config.write_text(config.read_text().replace("start_date: 2026-02-30",
                                                 "start_date: 2026-02-28")
                      .replace("  type: duckdb\n", "  type: duckdb\n  schema_name: 0x_\n"))
    with pytest.raises(ConfigError, match=r"warehouse.schema_name: String should match "
                                          r"pattern .* \(got '0x_'\)"):
        build_tenant_definitions("default", tenants_dir=tenants)


def test_a_raw_table_name_clashes_only_where_external_mode_makes_that_table() -> None:
    """``events__raw`` next to ``events`` is refused in Trino external mode (the fixture
    ``trino_raw_table_clash``); with ``events`` in Iceberg mode, or on DuckDB, there is no raw
    table to clash with."""
    import yaml

    from etl.config.tenant_config import TenantConfig

    text = (CASES_DIR / "trino_raw_table_clash" / "config.yaml").read_text()
    data = yaml.safe_load(text)
    data["assets"]["pipelines"][0]["load_mode"] = "iceberg"
    assert len(TenantConfig.model_validate(data).assets.pipelines) == 2
    data = yaml.safe_load(text)
    data["warehouse"]["default_load_mode"] = "iceberg"
    assert TenantConfig.model_validate(data).warehouse.type == "trino"
    data = yaml.safe_load(text)
    data["warehouse"], data["storage"] = {"type": "duckdb"}, {"root": "lake"}
    assert TenantConfig.model_validate(data).warehouse.type == "duckdb"
    data = yaml.safe_load(text)
    data["assets"]["pipelines"][1]["save_to_trino"] = False  # not loaded: makes no table
    assert TenantConfig.model_validate(data).warehouse.type == "trino"
