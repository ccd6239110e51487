"""No two tenants write to one place, and each tenant's own location knows it.

The rule: a schema named like a tenant is that tenant's; a lake folder inside another
tenant's belongs to the outer one. The newcomer gets the error, naming both tenants, in its own
code location (not only in ``etl.all``); the holder keeps loading.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etl import build_all_definitions, build_tenant_definitions
from etl.config.config_loader import load_tenant_config
from etl.config.errors import ConfigError, TenantsConfigError

BASE = """tenant: {{id: {tenant}, name: Site {tenant}}}
source: {{url: "sqlite:///source.db"}}
storage: {storage}
warehouse: {warehouse}
schedule: {{start_date: 2026-01-01}}
"""
LOCAL = "{root: lake}"
DUCKDB = "{type: duckdb, path: wh.duckdb}"


def tenant(root: Path, name: str, storage: str = LOCAL, warehouse: str = DUCKDB) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(BASE.format(tenant=name, storage=storage,
                                                    warehouse=warehouse))


def error_of(root: Path, name: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_tenant_config(name, root)
    return str(info.value)


def test_a_newcomer_taking_a_tenants_schema_fails_in_its_own_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "project_01")
    tenant(tmp_path, "newcomer", warehouse="{type: duckdb, path: wh.duckdb, "
                                           "schema_name: project_01}")
    message = error_of(tmp_path, "newcomer")
    assert "config.yaml:4: warehouse.schema_name: tenant 'newcomer' would write to " in message
    assert "(schema project_01), where tenant 'project_01' already keeps its tables" in message
    assert load_tenant_config("project_01", tmp_path).tenant_id == "project_01"
    with pytest.raises(ConfigError, match="tenant 'newcomer' would write to"):
        build_tenant_definitions("newcomer", tmp_path)
    with pytest.raises(TenantsConfigError) as every:
        build_all_definitions(tmp_path)
    assert [e.tenant for e in every.value.errors] == ["newcomer"]


def test_the_same_schema_name_elsewhere_is_no_clash(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "project_01")
    tenant(tmp_path, "other_file", warehouse="{type: duckdb, path: other.duckdb, "
                                             "schema_name: project_01}")
    tenant(tmp_path, "on_trino", storage="{root: 's3://lake/etl'}",
           warehouse="{type: trino, host: trino.internal, schema_name: project_01}")
    for name in ("project_01", "other_file", "on_trino"):
        assert load_tenant_config(name, tmp_path).tenant_id == name


def test_two_tenants_choosing_a_third_name_both_fail(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shared = "{type: trino, host: Trino.Internal, schema_name: shared}"
    tenant(tmp_path, "site_a", storage="{root: 's3://lake/a'}", warehouse=shared)
    tenant(tmp_path, "site_b", storage="{root: 's3://lake/b'}",
           warehouse="{type: trino, host: trino.internal, port: 8080, schema_name: shared}")
    assert "where tenant 'site_b' already keeps its tables" in error_of(tmp_path, "site_a")
    assert "where tenant 'site_a' already keeps its tables" in error_of(tmp_path, "site_b")


@pytest.mark.parametrize(("holder", "intruder"), [
    ("trino.internal", "'TRINO.internal.'"),
    ("127.0.0.1", "localhost"),
    ("10.0.0.7", "'10.0.7'"),
])
def test_the_same_trino_spelled_differently_is_the_same_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, holder: str, intruder: str
) -> None:
    """A host written in another case, with a trailing dot or as another spelling of its
    address is the same server: the holder's schema stays its own."""
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "holder", storage="{root: 's3://lake/holder'}",
           warehouse=f"{{type: trino, host: {holder}}}")
    tenant(tmp_path, "intruder", storage="{root: 's3://lake/intruder'}",
           warehouse=f"{{type: trino, host: {intruder}, schema_name: holder}}")
    assert ("config.yaml:4: warehouse.schema_name: tenant 'intruder' would write to Trino "
            f"http://{intruder.strip(chr(39))}:8080 (schema holder), where tenant 'holder' "
            "already keeps its tables; their tables would replace each other's rows: set a "
            "warehouse.schema_name of its own") in error_of(tmp_path, "intruder")
    assert load_tenant_config("holder", tmp_path).tenant_id == "holder"


@pytest.mark.parametrize(("outer_root", "inner_root"), [
    ("{root: lake}", "{root: lake/holder}"),
    ("{root: lake}", "{root: ./lake/holder/deeper}"),
    ("{root: 's3://bucket/etl'}", "{root: 's3://bucket/etl/holder/'}"),
])
def test_a_lake_folder_inside_another_tenants_fails_for_the_inner_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outer_root: str, inner_root: str
) -> None:
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "holder", storage=outer_root)
    tenant(tmp_path, "intruder", storage=inner_root)
    message = error_of(tmp_path, "intruder")
    assert "storage.root: tenant 'intruder' would write its files to " in message
    assert "a folder inside the lake folder of tenant 'holder'" in message
    assert load_tenant_config("holder", tmp_path).tenant_id == "holder"


def test_a_lake_folder_equal_to_another_through_a_link_fails_for_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lake_a").mkdir()
    (tmp_path / "lake_b" / "site_b").mkdir(parents=True)
    (tmp_path / "lake_a" / "site_a").symlink_to(tmp_path / "lake_b" / "site_b")
    tenant(tmp_path, "site_a", storage="{root: lake_a}")
    tenant(tmp_path, "site_b", storage="{root: lake_b}")
    assert "the same lake folder as tenant 'site_b'" in error_of(tmp_path, "site_a")
    assert "the same lake folder as tenant 'site_a'" in error_of(tmp_path, "site_b")


def test_s3_lakes_on_different_endpoints_or_buckets_do_not_clash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "site_a", storage="{root: 's3://lake/etl'}")
    tenant(tmp_path, "site_b", storage="{root: 's3://lake/etl/site_a', "
                                       "endpoint_url: 'http://minio-b:9000'}")
    tenant(tmp_path, "site_c", storage="{root: 's3://lake-c/etl/site_a'}")
    for name in ("site_a", "site_b", "site_c"):
        assert load_tenant_config(name, tmp_path).tenant_id == name


def test_a_broken_sibling_still_holds_its_targets_and_an_unreadable_one_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "holder")
    config = tmp_path / "holder" / "config.yaml"
    config.write_text(config.read_text().replace("2026-01-01", "2026-13-45"))
    tenant(tmp_path, "garbage")
    (tmp_path / "garbage" / "config.yaml").write_text("storage: [unclosed\n")
    tenant(tmp_path, "newcomer", warehouse="{type: duckdb, path: wh.duckdb, "
                                           "schema_name: holder}")
    assert "where tenant 'holder' already keeps its tables" in error_of(tmp_path, "newcomer")
    with pytest.raises(TenantsConfigError) as every:
        build_all_definitions(tmp_path)
    assert sorted(e.tenant for e in every.value.errors) == ["garbage", "holder", "newcomer"]
    assert "where tenant 'holder' already keeps its tables" in str(every.value)


def test_siblings_are_read_from_their_storage_and_warehouse_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sibling's long pipeline list is not parsed; only its two blocks are."""
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "holder")
    config = tmp_path / "holder" / "config.yaml"
    config.write_text(config.read_text() + "assets:\n  pipelines: [ {name: x, &bad \n")
    tenant(tmp_path, "newcomer", warehouse="{type: duckdb, path: wh.duckdb, "
                                           "schema_name: holder}")
    assert "where tenant 'holder' already keeps its tables" in error_of(tmp_path, "newcomer")


def test_a_variable_under_a_longer_tenant_id_is_that_tenants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``project`` may name PROJECT_* variables, but not PROJECT_01_*: those are project_01's,
    in project's own location and in etl.all; project_01 keeps loading."""
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "project_01")
    tenant(tmp_path, "project", warehouse="{type: duckdb, path: other.duckdb}",
           storage="{root: lake_p}")
    config = tmp_path / "project" / "config.yaml"
    config.write_text(config.read_text().replace(
        'source: {url: "sqlite:///source.db"}',
        'source: {url: "postgresql://etl@db/mes", password_env: PROJECT_01_DB_PASSWORD}'))
    expected = ("config.yaml:2: source.password_env: names the environment variable "
                "PROJECT_01_DB_PASSWORD, which starts with PROJECT_01_ and so belongs to tenant "
                "'project_01', not to 'project'; name a variable that starts with PROJECT_ but "
                "not with another tenant's id (e.g. PROJECT_DB_PASSWORD)")
    assert expected in error_of(tmp_path, "project")
    assert load_tenant_config("project_01", tmp_path).tenant_id == "project_01"
    with pytest.raises(TenantsConfigError) as every:
        build_all_definitions(tmp_path)
    assert [e.tenant for e in every.value.errors] == ["project"]
    assert expected in str(every.value)
    config.write_text(config.read_text().replace("PROJECT_01_DB", "PROJECT_DB"))
    assert load_tenant_config("project", tmp_path).tenant_id == "project"


@pytest.mark.parametrize(("holder", "intruder"), [
    ("{root: 's3://lake/etl', endpoint_url: 'http://minio:9000'}",
     "{root: 's3://lake/etl/holder', endpoint_url: 'http://Minio.:09000/'}"),
    ("{root: 's3://lake/etl', endpoint_url: 'https://store.example'}",
     "{root: 's3://lake/etl/holder', endpoint_url: 'https://store.example:443'}"),
    ("{root: 's3://lake/etl', endpoint_url: 'http://127.0.0.1:9000'}",
     "{root: 's3://lake//etl/./holder', endpoint_url: 'http://localhost:9000'}"),
    ("{root: 's3://lake/etl'}",
     "{root: 's3://lake/etl/holder', endpoint_url: 'https://s3.amazonaws.com'}"),
    ("{root: 's3://lake/etl', endpoint_url: 'https://s3.eu-west-1.amazonaws.com'}",
     "{root: 's3://lake/etl/holder', "
     "endpoint_url: 'https://s3.dualstack.us-east-1.amazonaws.com'}"),
])
def test_the_same_bucket_spelled_differently_is_the_same_lake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, holder: str, intruder: str
) -> None:
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "holder", storage=holder)
    tenant(tmp_path, "intruder", storage=intruder,
           warehouse="{type: duckdb, path: other.duckdb}")
    message = error_of(tmp_path, "intruder")
    assert ("storage.root: tenant 'intruder' would write its files to s3://lake/etl/holder/"
            "intruder, a folder inside the lake folder of tenant 'holder'; their files would "
            "mix: give storage.root a location of its own") in message
    assert load_tenant_config("holder", tmp_path).tenant_id == "holder"


@pytest.mark.parametrize("path", ["lake/holder/extract/wh.duckdb", "linked/wh.duckdb"])
def test_a_warehouse_file_inside_another_tenants_lake_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """It would land among the holder's files, which its readers take for Parquet."""
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "holder")
    (tmp_path / "lake" / "holder" / "extract").mkdir(parents=True)
    (tmp_path / "linked").symlink_to(tmp_path / "lake" / "holder")
    tenant(tmp_path, "intruder", storage="{root: lake_i}",
           warehouse=f"{{type: duckdb, path: {path}, schema_name: intruder}}")
    resolved = (tmp_path / path).resolve()
    assert (f"config.yaml:4: warehouse.path: tenant 'intruder' would keep its warehouse file "
            f"{resolved} inside the lake folder of tenant 'holder', whose readers would take it "
            "for one of their files and fail: give warehouse.path a place outside every "
            "tenant's lake folder") in error_of(tmp_path, "intruder")
    assert load_tenant_config("holder", tmp_path).tenant_id == "holder"


def test_a_warehouse_file_inside_its_own_lake_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "site", warehouse="{type: duckdb, path: lake/site/wh.duckdb}")
    assert (f"warehouse.path: tenant 'site' would keep its warehouse file "
            f"{tmp_path.resolve()}/lake/site/wh.duckdb inside its own lake folder "
            f"{tmp_path.resolve()}/lake/site, where readers of its tables would take it for one "
            "of their files") in error_of(tmp_path, "site")


def test_endpoints_in_normal_form() -> None:
    from etl.config.storage import normal_endpoint

    same = [["http://minio:9000", "http://MINIO:09000/", "http://user@minio.:9000"],
            [None, "https://s3.amazonaws.com", "https://s3.ap-northeast-2.amazonaws.com",
             "http://s3-us-west-2.amazonaws.com", "https://s3.dualstack.eu-west-1.amazonaws.com"],
            ["http://127.0.0.1:9000", "http://localhost:9000", "http://127.1:9000",
             "http://[::1]:9000", "http://[::ffff:127.0.0.1]:9000"],
            ["https://store.example", "https://store.example:443", "http://store.example:80"]]
    names = [{normal_endpoint(e) for e in group} for group in same]
    assert all(len(n) == 1 for n in names) and len(set().union(*names)) == len(same)
    assert normal_endpoint("http://minio:9001") != normal_endpoint("http://minio:9000")
    assert normal_endpoint("https://s3.cn-north-1.amazonaws.com.cn") != "aws"


@pytest.mark.parametrize(("storage", "warehouse", "extra", "line", "field"), [
    ("{root: 's3://lake/site', access_key_env: VICTIM_KEY, secret_key_env: SITE_SECRET}",
     DUCKDB, "", 3, "storage.access_key_env"),
    ("{root: 's3://lake/site', access_key_env: SITE_KEY, secret_key_env: VICTIM_SECRET}",
     DUCKDB, "", 3, "storage.secret_key_env"),
    ("{root: 's3://lake/site'}", "{type: trino, host: trino.internal, http_scheme: https, "
     "password_env: VICTIM_TRINO_PASSWORD}", "", 4, "warehouse.password_env"),
    ("{root: 's3://lake/site'}", "{type: trino, host: trino.internal, http_scheme: https, "
     "jwt_env: VICTIM_TRINO_JWT}", "", 4, "warehouse.jwt_env"),
    (LOCAL, DUCKDB, "alerts: {destinations: [{type: slack, url_env: VICTIM_SLACK_URL}]}\n",
     6, "alerts.destinations[0].url_env"),
    (LOCAL, DUCKDB, "alerts: {destinations: [{type: webhook, url_env: SITE_HOOK, headers: "
     "[{name: Authorization, value_env: VICTIM_TOKEN}]}]}\n", 6,
     "alerts.destinations[0].headers[0].value_env"),
])
def test_no_env_field_names_another_tenants_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str, warehouse: str, extra: str,
    line: int, field: str
) -> None:
    """Every field that names a variable (lake keys, warehouse password and token, alert
    destinations and headers) follows the rule ``source.password_env`` does."""
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "victim")
    tenant(tmp_path, "site", storage=storage, warehouse=warehouse)
    config = tmp_path / "site" / "config.yaml"
    config.write_text(config.read_text() + extra)
    (variable,) = re.findall(r"VICTIM_[A-Z_]+", storage + warehouse + extra)
    message = error_of(tmp_path, "site")
    assert (f"config.yaml:{line}: {field}: names the environment variable {variable}, which "
            "is not tenant 'site''s: a tenant names only variables that start with its id in "
            "upper case, SITE_ (e.g. SITE_DB_PASSWORD); rename the variable") in message
