"""What ``etl deploy`` generates, checked against the tenant folders and against Dagster itself.

The instance files are loaded by Dagster's own config code (with SQLite in place of the
PostgreSQL storage, the one part that needs a server), and the Helm values are translated the
way the chart's templates write ``dagster.yaml`` and loaded the same way, so a key Dagster 1.13
would refuse fails here rather than in a cluster.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from etl import naming
from etl.cli.deploy import load_tenants
from etl.cli.main import main
from etl.config.discovery import discover_tenants
from etl.config.tenant_config import TenantConfig
from etl.deploy.environment import service_env, tenant_env, tenant_variables
from etl.deploy.helm import ClusterSettings, helm_values, k8s_name, secret_keys
from etl.deploy.instance import instance_config, pool_limits, tag_limits
from etl.deploy.local import Layout, location_names, write_files
from etl.deploy.settings import PG_ENV, DeploymentSettings
from etl.deploy.workspace import workspace_config
from etl.runs.launch import CodeLocation
from tests.helpers import copy_tenants

CLUSTER = ClusterSettings("registry.example.com/etl", "1.0", "pg.example.com")


@pytest.fixture
def tenants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[TenantConfig]:
    """The sample tenants, with project_01's source on PostgreSQL behind a password."""
    folder = copy_tenants(tmp_path)
    config = folder / "project_01" / "config.yaml"
    config.write_text(config.read_text().replace(
        "  url: sqlite:///", "  password_env: PROJECT_01_DB_PASSWORD\n  url: sqlite:///").replace(
        "tags:\n", "runs:\n  max_concurrent: 3\ntags:\n"))
    monkeypatch.setenv("ETL_TENANTS_DIR", str(folder))
    return load_tenants(None)


def load_instance(tmp_path: Path, settings: dict[str, Any]) -> dg.DagsterInstance:
    """Dagster's own loading of a ``dagster.yaml``, its storage swapped for SQLite."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    settings = {**settings, "storage": {"sqlite": {"base_dir": str(home / "storage")}}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings))
    return dg.DagsterInstance.from_config(str(home))


def test_the_instance_has_the_queue_limits_monitoring_and_retries_of_the_tenants(
        tenants: list[TenantConfig], tmp_path: Path) -> None:
    settings = DeploymentSettings(max_concurrent_runs=7, monitor_interval_s=3)
    config = instance_config(tenants, settings)
    assert config["storage"]["postgres"]["postgres_db"]["password"] == {
        "env": "DAGSTER_PG_PASSWORD"}  # the file names the variable, never the password
    with load_instance(tmp_path, config) as instance:
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 7
        limits = {(lim["key"], str(lim.get("value"))): lim["limit"]
                  for lim in queue.tag_concurrency_limits}
        assert limits[(naming.TENANT_TAG, "project_01")] == 3
        assert limits[(naming.CODE_LOCATION_TAG, "project_01")] == 3
        assert limits[(naming.TENANT_TAG, "default")] == 1
        assert limits[(naming.TENANT_TAG, "{'applyLimitPerUniqueValue': True}")] == 3
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_poll_interval_seconds == 3
        assert instance.run_retries_enabled
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert instance.run_retries_max_retries == 1
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"


def test_pool_limits_come_from_each_tenants_source(tenants: list[TenantConfig]) -> None:
    assert pool_limits(tenants) == {naming.pool_name(t.tenant.id): 1 for t in tenants}


def test_the_workspace_has_one_code_server_per_tenant_folder(
        tenants: list[TenantConfig], tmp_path: Path) -> None:
    layout = Layout(tmp_path / "deploy")
    names = location_names(layout, tenants)
    assert names == discover_tenants()
    write_files(layout, tenants, DeploymentSettings(), {n: 5000 + i for i, n in
                                                       enumerate(names)})
    workspace = yaml.safe_load(layout.workspace.read_text())
    assert workspace == workspace_config({n: 5000 + i for i, n in enumerate(names)}, layout.host)
    assert [e["grpc_server"]["location_name"] for e in workspace["load_from"]] == names
    assert location_names(Layout(tmp_path, single_location=True), tenants) == ["etl.all"]


def test_a_tenants_processes_get_its_own_variables_and_no_one_elses(
        tenants: list[TenantConfig], tmp_path: Path) -> None:
    source = {"PATH": "/bin", "PROJECT_01_DB_PASSWORD": "p1-secret", "OTHER_DB_PASSWORD": "x",
              "DAGSTER_PG_PASSWORD": "instance-secret", "DAGSTER_PG_HOST": "pg"}
    by_id = {t.tenant.id: t for t in tenants}
    assert tenant_variables(by_id["project_01"]) == ["PROJECT_01_DB_PASSWORD"]
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    (env_dir / "default.env").write_text("DEFAULT_EXTRA=from-file\n")
    own = tenant_env(tmp_path, by_id["project_01"], env_dir, source)
    other = tenant_env(tmp_path, by_id["default"], env_dir, source)
    assert own["PROJECT_01_DB_PASSWORD"] == "p1-secret" and "DEFAULT_EXTRA" not in own
    assert "PROJECT_01_DB_PASSWORD" not in other and other["DEFAULT_EXTRA"] == "from-file"
    assert "OTHER_DB_PASSWORD" not in own | other
    # etl.project_01 exists; a tenant without a module gets etl.tenant_location and its id.
    assert dict(CodeLocation.of_tenant("project_01").env).items() <= own.items()
    assert CodeLocation.of_tenant("t_new").env == (("ETL_TENANT", "t_new"),)
    services = service_env(tmp_path, source)
    assert not {k for k in services if k.endswith("_DB_PASSWORD")}
    assert services["DAGSTER_HOME"] == str(tmp_path)
    assert {k for k in PG_ENV if k in source} <= set(services)


def test_no_process_or_secret_gets_a_variable_another_tenant_holds(
        tenants: list[TenantConfig], tmp_path: Path) -> None:
    """Even a config that escaped validation (here changed after it) names only its own
    variables: the environments and the Helm secrets keep what the tenant's prefix owns."""
    by_id = {t.tenant.id: t for t in tenants}
    default = by_id["default"]
    thief = default.model_copy(update={"source": default.source.model_copy(update={
        "password_env": "PROJECT_01_DB_PASSWORD"})})
    source = {"PATH": "/bin", "PROJECT_01_DB_PASSWORD": "p1-secret"}
    assert tenant_variables(thief) == []
    assert "PROJECT_01_DB_PASSWORD" not in tenant_env(tmp_path, thief, None, source)
    assert secret_keys([thief, by_id["project_01"]], CLUSTER)["etl-tenant-default"] == []
    # A longer id holds its prefix: PROJECT_01_* is project_01's, not project's.
    project = default.model_copy(update={
        "tenant": default.tenant.model_copy(update={"id": "project"}),
        "source": default.source.model_copy(update={"password_env": "PROJECT_01_DB_PASSWORD"})})
    assert tenant_variables(project) == ["PROJECT_01_DB_PASSWORD"]  # alone, it has the prefix
    assert tenant_variables(project, ["project", "project_01"]) == []
    assert "PROJECT_01_DB_PASSWORD" not in tenant_env(tmp_path, project, None, source,
                                                      others=["project_01"])


def test_deploy_refuses_a_config_naming_another_tenants_variable(
        tenants: list[TenantConfig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = Path(os.environ["ETL_TENANTS_DIR"])
    config = folder / "default" / "config.yaml"
    config.write_text(config.read_text().replace(
        "  url: sqlite:///", "  password_env: PROJECT_01_DB_PASSWORD\n  url: sqlite:///"))
    monkeypatch.setenv("PROJECT_01_DB_PASSWORD", "p1-very-secret")
    home = tmp_path / "deploy"
    assert main(["deploy", "instance", "--home", str(home)]) == 2
    err = capsys.readouterr().err
    assert ("source.password_env: names the environment variable PROJECT_01_DB_PASSWORD, which "
            "is not tenant 'default''s: a tenant names only variables that start with its id "
            "in upper case, DEFAULT_ (e.g. DEFAULT_DB_PASSWORD); rename the variable") in err
    assert "p1-very-secret" not in err and not home.exists()


def helm_to_instance(values: dict[str, Any]) -> dict[str, Any]:
    """The ``dagster.yaml`` the chart's templates write from these values (the parts we set)."""
    daemon = values["dagsterDaemon"]
    queue = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    return {
        "run_coordinator": {"module": "dagster.core.run_coordinator",
                            "class": "QueuedRunCoordinator",
                            "config": {_snake(k): v for k, v in queue.items()}},
        "run_monitoring": {_snake(k): v for k, v in daemon["runMonitoring"].items()},
        "run_retries": {_snake(k): v for k, v in daemon["runRetries"].items()},
    }


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def test_helm_values_give_each_tenant_its_deployment_secret_and_queue_key(
        tenants: list[TenantConfig], tmp_path: Path) -> None:
    settings = DeploymentSettings(max_concurrent_runs=12)
    values = helm_values(tenants, settings, CLUSTER)
    deployments = values["dagster-user-deployments"]["deployments"]
    assert [d["name"] for d in deployments] == [k8s_name(t) for t in discover_tenants()]
    for deployment, tenant in zip(deployments, tenants, strict=True):
        assert {"name", "image", "port"} <= set(deployment)  # what the chart requires
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", deployment["name"])
        location = CodeLocation.of_tenant(tenant.tenant.id)
        assert deployment["dagsterApiGrpcArgs"] == ["-m", location.module]
        assert deployment.get("env", []) == [{"name": k, "value": v} for k, v in location.env]
        assert deployment["envSecrets"] == [{"name": f"etl-tenant-{deployment['name']}"}]
        assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"] == []
    assert values["postgresql"]["enabled"] is False
    assert values["global"]["postgresqlSecretName"] and \
        values["generatePostgresqlPasswordSecret"] is False
    assert "concurrency" not in values  # the chart and Dagster refuse it beside the queue's
    assert secret_keys(tenants, CLUSTER) == {
        "etl-tenant-default": [], "etl-tenant-project-01": ["PROJECT_01_DB_PASSWORD"]}
    with load_instance(tmp_path, helm_to_instance(values)) as instance:
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 12
        limits = {(lim["key"], str(lim.get("value"))): lim["limit"]
                  for lim in queue.tag_concurrency_limits}
        # On Kubernetes a location is named after its deployment: project-01, not project_01.
        assert limits[(naming.CODE_LOCATION_TAG, "project-01")] == 3
        assert limits[(naming.TENANT_TAG, "project_01")] == 3
        assert instance.run_monitoring_enabled and instance.run_retries_enabled


def test_tag_limits_name_locations_as_the_deployment_does(
        tenants: list[TenantConfig]) -> None:
    plain = {(lim["key"], str(lim["value"])) for lim in tag_limits(tenants)}
    renamed = {(lim["key"], str(lim["value"]))
               for lim in tag_limits(tenants, {"project_01": "project-01"})}
    assert (naming.CODE_LOCATION_TAG, "project_01") in plain - renamed
    assert (naming.CODE_LOCATION_TAG, "project-01") in renamed - plain


def test_the_deploy_commands_write_the_files(
        tenants: list[TenantConfig], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "deploy"
    assert main(["deploy", "instance", "--home", str(home), "--max-concurrent-runs", "4"]) == 0
    instance = yaml.safe_load((home / "dagster.yaml").read_text())
    assert instance["concurrency"]["runs"]["max_concurrent_runs"] == 4
    out = tmp_path / "values.yaml"
    assert main(["deploy", "helm-values", "--image", "registry.example.com/etl:1.0",
                 "--postgresql-host", "pg.example.com", "--output", str(out)]) == 0
    values = yaml.safe_load(out.read_text())
    assert values == helm_values(tenants, DeploymentSettings(), CLUSTER)
    err = capsys.readouterr().err
    assert "etl-tenant-project-01: PROJECT_01_DB_PASSWORD" in err
    assert main(["deploy", "helm-values", "--image", "no-tag",
                 "--postgresql-host", "pg"]) == 2
    assert "must be repository:tag" in capsys.readouterr().err


def test_up_refuses_to_start_without_the_instance_database(
        tenants: list[TenantConfig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name in PG_ENV:
        monkeypatch.delenv(name, raising=False)
    assert main(["deploy", "up", "--home", str(tmp_path / "d"), "--no-webserver"]) == 2
    err = capsys.readouterr().err
    assert "DAGSTER_PG_HOST" in err and "DAGSTER_PG_PASSWORD" in err
    assert not (tmp_path / "d").exists()


def test_no_instance_file_holds_a_secret(tenants: list[TenantConfig], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROJECT_01_DB_PASSWORD", "p1-very-secret")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "instance-very-secret")
    home = tmp_path / "deploy"
    write_files(Layout(home), tenants, DeploymentSettings(), {"default": 1, "project_01": 2})
    text = io.StringIO()
    for path in home.iterdir():
        text.write(path.read_text())
    text.write(yaml.safe_dump(helm_values(tenants, DeploymentSettings(), CLUSTER)))
    assert "very-secret" not in text.getvalue()


def test_the_code_servers_login_is_named_after_the_instance_database() -> None:
    from etl.deploy.code_login import default_role, prepare_code_login
    from etl.errors import UsageError

    assert default_role("Dagster-Prod") == "dagster_prod_code"
    with pytest.raises(UsageError, match="set both DAGSTER_PG_CODE_USER and "
                                         "DAGSTER_PG_CODE_PASSWORD, or neither"):
        prepare_code_login({"DAGSTER_PG_CODE_USER": "code", "DAGSTER_PG_DB": "dagster"})
