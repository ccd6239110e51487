"""A transfer reaches only its own input: each escape a tenant tried fails and changes nothing.

Statements that are not one query (COPY, ATTACH, DELETE, SET, INSTALL, LOAD) fail at load, with
file and line (the ``sql_*`` fixtures in ``invalid_configs``); they are also refused at run
time, and so is every query that reaches outside ``source`` (files, another tenant's lake,
Python variables, the environment). Python transfer functions get the same locked connection
unless their pipeline opts in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa
import pytest
from pydantic import ValidationError

from etl import build_tenant_definitions, naming
from etl.common.transfer import TransferContext
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.s3 import StorageResource
from etl.stages.transfer import run_transfer, sql_transfer
from etl.utils.duckdb_sandbox import shorten
from tests.helpers import DAYS, copy_tenants, seed_tenant, storage_resource

DAY = "2026-03-01"
SECRET = "hunter2-in-dotenv"


@dataclass(frozen=True)
class World:
    """A tenant's extract, plus what a hostile transfer would like to reach."""

    storage: StorageResource
    lake: Path
    dotenv: Path
    other_lake_file: Path
    warehouse: Path
    pwned: Path

    def warehouse_rows(self) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.sql("SELECT * FROM project_01.work_order ORDER BY id").fetchall()

    def nothing_changed(self) -> None:
        assert not self.pwned.exists()
        assert self.warehouse_rows() == [(1, "kept"), (2, "kept")]
        transfer_dir = self.lake / "t1" / "transfer"
        assert not transfer_dir.exists() or not any(transfer_dir.rglob("*.parquet"))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.chdir(tmp_path)
    storage = storage_resource(str(tmp_path / "lake"))
    storage.write(naming.data_file_path("t1", "extract", "orders", DAY),
                  pa.table({"id": [1, 2], "qty": [5, 7]}).to_reader())
    storage.write(naming.data_file_path("project_01", "extract", "orders", DAY),
                  pa.table({"id": [9], "qty": [99]}).to_reader())
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"PROJECT_01_DB_PASSWORD={SECRET}\n")
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA project_01; CREATE TABLE project_01.work_order AS "
                    "SELECT * FROM (VALUES (1, 'kept'), (2, 'kept')) t(id, note)")
    other = tmp_path / "lake/project_01/extract/orders" / f"dt={DAY}" / "data.parquet"
    return World(storage, tmp_path / "lake", dotenv, other, warehouse, tmp_path / "pwned.csv")


def pipeline(**transfer: Any) -> PipelineAssetConfig:
    return PipelineAssetConfig.model_validate({
        "name": "orders", "table": "orders", "date_column": "day", "has_transfer": True,
        **({"transfer": transfer} if transfer else {})})


def transfer_error(world: World, function: Callable[..., Any],
                   p: PipelineAssetConfig | None = None) -> str:
    (result,) = run_transfer("t1", p or pipeline(), function, world.storage, [DAY])
    assert result.outcome is None and result.error is not None
    return str(result.error)


def test_the_arrow_input_is_readable_on_the_locked_connection(world: World) -> None:
    (result,) = run_transfer("t1", pipeline(sql="SELECT id, qty * 2 AS doubled FROM source"),
                             sql_transfer("SELECT id, qty * 2 AS doubled FROM source"),
                             world.storage, [DAY])
    assert result.error is None and result.outcome is not None and result.outcome.rows == 2


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_text('.env')",
    "SELECT * FROM read_csv('.env', header = false)",
    "SELECT * FROM '.env'",
    "SELECT * FROM read_parquet('lake/project_01/extract/orders/*/*.parquet')",
    "SELECT * FROM glob('lake/*')",
    "SELECT getenv('PROJECT_01_DB_PASSWORD') AS leaked, * FROM source",
])
def test_a_query_reaching_outside_source_fails_at_run_time_naming_it(
    world: World, sql: str
) -> None:
    error = transfer_error(world, sql_transfer(sql), pipeline(sql=sql))
    assert f"transfer SQL {shorten(sql)!r} of pipeline 'orders' failed" in error
    assert SECRET not in error
    world.nothing_changed()


@pytest.mark.parametrize("sql", [
    "COPY (SELECT * FROM source) TO 'pwned.csv'",
    "ATTACH 'warehouse.duckdb' AS other",
    "ATTACH 'warehouse.duckdb' AS other; DELETE FROM other.project_01.work_order; "
    "SELECT * FROM source",
    "SET enable_external_access = true",
    "INSTALL httpfs",
    "LOAD httpfs",
])
def test_statements_are_refused_at_run_time_too(world: World, sql: str) -> None:
    with pytest.raises(ValidationError, match=r"must be (exactly )?one SELECT"):
        pipeline(sql=sql)  # the config load refuses it (file:line: the sql_* fixtures)
    error = transfer_error(world, sql_transfer(sql))
    assert "SELECT or WITH query over 'source'" in error
    world.nothing_changed()


def _python_escapes() -> dict[str, Callable[[duckdb.DuckDBPyRelation, TransferContext], Any]]:
    def copy_to(source: duckdb.DuckDBPyRelation, ctx: TransferContext) -> Any:
        ctx.connection.execute("COPY source TO 'pwned.csv'")
        return source

    def attach_and_delete(source: duckdb.DuckDBPyRelation, ctx: TransferContext) -> Any:
        ctx.connection.execute("ATTACH 'warehouse.duckdb' AS other")
        ctx.connection.execute("DELETE FROM other.project_01.work_order")
        return source

    def read_dotenv(source: duckdb.DuckDBPyRelation, ctx: TransferContext) -> Any:
        return ctx.connection.sql("SELECT content FROM read_text('.env')")

    def change_settings(source: duckdb.DuckDBPyRelation, ctx: TransferContext) -> Any:
        ctx.connection.execute("SET enable_external_access = true")
        return source

    def install(source: duckdb.DuckDBPyRelation, ctx: TransferContext) -> Any:
        ctx.connection.execute("INSTALL httpfs")
        return source

    def load(source: duckdb.DuckDBPyRelation, ctx: TransferContext) -> Any:
        ctx.connection.execute("LOAD httpfs")
        return source

    return {f.__name__: f for f in (copy_to, attach_and_delete, read_dotenv, change_settings,
                                    install, load)}


@pytest.mark.parametrize("name", sorted(_python_escapes()))
def test_python_transfers_get_the_same_locks(world: World, name: str) -> None:
    error = transfer_error(world, _python_escapes()[name])
    assert f"transfer {name!r} of pipeline 'orders' was refused by the DuckDB sandbox" in error
    assert "transfer.allow_external_access: true" in error
    world.nothing_changed()


def test_python_variables_are_not_visible_to_queries(world: World) -> None:
    secrets = pa.table({"password": [SECRET]})  # noqa: F841 - what a replacement scan would find

    def peek(source: duckdb.DuckDBPyRelation, ctx: TransferContext) -> Any:
        return ctx.connection.sql("SELECT * FROM secrets")

    error = transfer_error(world, peek)
    assert "secrets does not exist" in error and SECRET not in error


def test_allow_external_access_opens_the_connection_for_python_only(world: World) -> None:
    def read_dotenv(source: duckdb.DuckDBPyRelation, ctx: TransferContext) -> Any:
        return ctx.connection.sql("SELECT content FROM read_text('.env')")

    opened = pipeline(function="tenant:read_dotenv", allow_external_access=True)
    (result,) = run_transfer("t1", opened, read_dotenv, world.storage, [DAY])
    assert result.error is None and result.outcome is not None and result.outcome.rows == 1
    with pytest.raises(ValueError, match="applies to Python transfer functions only"):
        pipeline(sql="SELECT * FROM source", allow_external_access=True)


def test_a_config_only_escape_fails_the_run_and_the_other_pipelines_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the tenant's own definitions: the statement is named, nothing is written."""
    tenants = copy_tenants(tmp_path, ("default",))
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"DEFAULT_DB_PASSWORD={SECRET}\n")
    sql = "SELECT content AS id FROM read_text('.env')"
    config = tenants / "default" / "config.yaml"
    config.write_text(config.read_text() + (
        "assets:\n  pipelines:\n    - name: work_order\n      transfer:\n"
        f"        sql: \"{sql}\"\n"))
    seed_tenant(tmp_path, "default")
    defs = build_tenant_definitions("default", tenants_dir=tenants)
    result = defs.resolve_job_def("daily_etl_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), partition_key=DAYS[0].isoformat(),
        raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.error)
    assert f"transfer SQL {sql!r} of pipeline 'work_order' failed: Permission Error" in message
    assert SECRET not in message
    done = {tuple(e.asset_key.path) for e in result.get_asset_materialization_events()}
    assert ("default", "transfer", "work_order") not in done
    assert ("default", "load", "production_result") in done
    assert not (tmp_path / ".etl/lake/default/transfer/work_order").exists()
