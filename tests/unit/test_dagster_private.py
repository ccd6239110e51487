"""Every private Dagster name of :mod:`etl.instance.private`: where it is, its signature, and
the behaviour the project relies on. A Dagster upgrade that moves or changes one fails here.

The batching event logs (:mod:`etl.instance.storage`) write what Dagster's own per-event code
writes; that code is pinned by the hash of its source below. When a hash changes, read the new
method, bring ``etl/instance/index.py`` (and ``sqlite.py`` / ``postgres.py``) in step with it,
run ``tests/unit/test_event_storage.py`` and the PostgreSQL twin in ``tests/integration``, and
only then update the hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from etl.instance import private as p
from tests.source_tree import parse

PINNED = {"dagster": "1.13.27", "dagster-postgres": "0.29.27"}

# Dagster's per-event writes that etl/instance replicates in batches (sha256 of the source).
REPLICATED: dict[str, tuple[Callable[..., Any], str]] = {
    "SqlEventLogStorage.store_event": (p.SqlEventLogStorage.store_event, "391ced414e9bfecb"),
    "SqlEventLogStorage._store_asset_event": (p.SqlEventLogStorage._store_asset_event,
                                              "fdb9340b9eef1c9b"),
    "SqlEventLogStorage._get_asset_entry_values": (
        p.SqlEventLogStorage._get_asset_entry_values, "bb3b9df2c6c371fe"),
    "SqlEventLogStorage._store_asset_event_tags": (
        p.SqlEventLogStorage._store_asset_event_tags, "85d6f17ef04b926f"),
    "SqlEventLogStorage._event_to_row": (p.SqlEventLogStorage._event_to_row, "93d47fbe7edc4f70"),
    "SqlEventLogStorage.store_asset_check_event": (
        p.SqlEventLogStorage.store_asset_check_event, "6d148295fa69bb45"),
    "SqlEventLogStorage._store_asset_check_evaluation_planned": (
        p.SqlEventLogStorage._store_asset_check_evaluation_planned, "bbecef7ab5ce9d01"),
    "SqlEventLogStorage._update_asset_check_evaluation": (
        p.SqlEventLogStorage._update_asset_check_evaluation, "961fd6041447b07a"),
    "SqlEventLogStorage._event_insert_timestamp": (
        p.SqlEventLogStorage._event_insert_timestamp, "02e6947ee3f9408a"),
    "SqliteEventLogStorage.__init__": (p.SqliteEventLogStorage.__init__, "264c15baa761a7bb"),
    "SqliteEventLogStorage.store_event": (p.SqliteEventLogStorage.store_event,
                                          "f89aed40602438b9"),
    "SqliteEventLogStorage._connect": (p.SqliteEventLogStorage._connect, "b8435f2665689760"),
    "SqliteEventLogStorage._initdb": (p.SqliteEventLogStorage._initdb, "7a302d98eb61a34d"),
    "PostgresEventLogStorage.__init__": (p.PostgresEventLogStorage.__init__,
                                         "647dff00b58c1222"),
    "PostgresEventLogStorage.store_event": (p.PostgresEventLogStorage.store_event,
                                            "4a2e37e5871bf2c8"),
    "PostgresEventLogStorage._store_asset_event": (
        p.PostgresEventLogStorage._store_asset_event, "2dc70ccdb0feb5be"),
    "PostgresEventLogStorage.optimize_for_webserver": (
        p.PostgresEventLogStorage.optimize_for_webserver, "c084cd79114d5e5e"),
}

KEY = dg.AssetKey(["t", "extract", "p"])


def params(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_dagster_is_the_pinned_version() -> None:
    assert {name: version(name) for name in PINNED} == PINNED, (
        "Dagster was upgraded: check every name below and the hashes of REPLICATED first")


@pytest.mark.parametrize("name", sorted(REPLICATED))
def test_the_replicated_per_event_writes_are_unchanged(name: str) -> None:
    function, expected = REPLICATED[name]
    found = hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]
    assert found == expected, (
        f"Dagster's {name} changed: etl/instance writes what it wrote; compare the new source "
        "with etl/instance/index.py before updating this hash")


def test_all_names_are_exported() -> None:
    imported = ("annotations", "TYPE_CHECKING", "functools", "sa", "MigrationContext",
                "ScriptDirectory")  # not Dagster's
    assert set(p.__all__) == {n for n in vars(p) if not n.startswith("_") and n not in imported}


def test_tags_and_their_names() -> None:
    assert p.CODE_VERSION_TAG == "dagster/code_version"
    assert p.DATA_VERSION_TAG == "dagster/data_version"
    assert p.get_input_data_version_tag(KEY) == "dagster/input_data_version/t/extract/p"
    assert p.get_input_event_pointer_tag(KEY) == "dagster/input_event_pointer/t/extract/p"


def test_check_data_classes() -> None:
    target = p.CheckTarget(storage_id=7, run_id="r", timestamp=1.0)
    assert (target.storage_id, target.run_id, target.timestamp) == (7, "r", 1.0)
    assert dg.AssetCheckEvaluation(asset_key=KEY, check_name="c", passed=True, partition="d",
                                   target_materialization_data=target).partition == "d"
    planned = p.CheckPlannedData(asset_key=KEY, check_name="c", partitions_subset=None)
    assert (planned.asset_key, planned.check_name, planned.partitions_subset) == (KEY, "c", None)
    status = p.AssetCheckExecutionRecordStatus
    assert {s.value for s in status} >= {"PLANNED", "SUCCEEDED", "FAILED"}
    assert p.COMPLETED_CHECK_STATUSES == {status.SUCCEEDED, status.FAILED}


def test_event_type_sets() -> None:
    t = dg.DagsterEventType
    assert {t.ASSET_MATERIALIZATION, t.ASSET_OBSERVATION,
            t.ASSET_MATERIALIZATION_PLANNED} <= p.ASSET_EVENTS
    assert p.ASSET_CHECK_EVENTS == {t.ASSET_CHECK_EVALUATION, t.ASSET_CHECK_EVALUATION_PLANNED}
    assert t.RUN_SUCCESS in p.EVENT_TYPE_TO_PIPELINE_RUN_STATUS
    assert not p.EVENT_TYPE_TO_PIPELINE_RUN_STATUS.keys() & (p.ASSET_EVENTS | p.ASSET_CHECK_EVENTS)


def test_tables_have_the_columns_written() -> None:
    def columns(table: sa.Table) -> set[str]:
        return {c.name for c in table.c}

    assert columns(p.SqlEventLogStorageTable) >= {
        "id", "run_id", "event", "dagster_event_type", "timestamp", "step_key", "asset_key",
        "partition"}
    assert columns(p.AssetKeyTable) >= {"id", "asset_key", "last_materialization",
                                        "last_run_id", "last_materialization_timestamp"}
    assert columns(p.AssetCheckExecutionsTable) >= {
        "id", "asset_key", "check_name", "partition", "run_id", "execution_status",
        "evaluation_event", "evaluation_event_timestamp", "evaluation_event_storage_id",
        "materialization_event_storage_id"}
    assert p.ASSET_KEY_INDEX_COLS == "asset_key_index_columns"


def test_the_storage_base_classes_and_the_methods_called() -> None:
    sql = p.SqlEventLogStorage
    assert issubclass(sql, p.EventLogStorage)
    assert params(sql._event_to_row) == ["self", "event"]
    assert params(sql._store_asset_event_tags) == ["self", "conn", "events", "event_ids"]
    assert params(sql._get_asset_entry_values) == ["self", "event", "event_id",
                                                   "has_asset_key_index_cols"]
    assert params(sql._has_asset_key_index_cols_on_connection) == ["self", "conn"]
    assert params(sql.has_secondary_index) == ["self", "name"]
    assert params(sql.index_transaction) == ["self"]
    assert params(sql.run_connection) == ["self", "run_id"]  # the progress line's count
    stamp = sql._event_insert_timestamp(None, dg.EventLogEntry(  # type: ignore[arg-type]
        error_info=None, level=20, user_message="", run_id="r", timestamp=86400.5))
    assert stamp == dt.datetime(1970, 1, 2, 0, 0, 0, 500000)  # naive UTC


def test_the_sqlite_storage_internals(tmp_path: Path) -> None:
    storage = p.SqliteEventLogStorage(str(tmp_path))
    assert p.INDEX_SHARD_NAME == "index"
    assert params(p.SqliteEventLogStorage.__init__) == ["self", "base_dir", "inst_data"]
    assert params(storage._initdb) == ["engine", "for_index_shard"]
    assert storage.conn_string_for_shard("r1").endswith("r1.db")
    assert isinstance(storage._initialized_dbs, set) and hasattr(storage._db_lock, "acquire")
    assert storage.has_table("asset_event_tags")
    with storage._connect("index") as conn:
        assert conn.in_transaction()
    assert isinstance(p.SQLITE_BUSY_TIMEOUT_SECONDS, int)
    assert params(p.create_engine) == ["url", "kwargs"]
    storage.dispose()


def test_a_new_run_database_is_made_as_dagster_makes_it(tmp_path: Path) -> None:
    """``init_new_shard`` gives a run's database the tables, indexes, WAL and revision that
    Dagster's own ``_initdb`` gives it; a stamped one is left alone; tables without a revision
    are left to Dagster."""
    storage = p.SqliteEventLogStorage(str(tmp_path / "stock"))

    def made(engine: sa.Engine) -> tuple[list[tuple[str, str]], str | None, str]:
        with engine.connect() as conn:
            schema = sorted((str(r[0]), str(r[1])) for r in conn.execute(sa.text(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")))
            revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            journal = str(conn.execute(sa.text("PRAGMA journal_mode")).scalar())
        return schema, revision, journal

    stock = p.create_engine(storage.conn_string_for_shard("run-stock"))
    storage._initdb(stock)
    fast = p.create_engine(storage.conn_string_for_shard("run-fast"))
    assert p.init_new_shard(fast)
    assert made(fast) == made(stock)
    assert made(fast)[1] == p.event_log_migrations().as_revision_number("head")
    assert made(fast)[2] == "wal"
    assert p.init_new_shard(fast)  # stamped: nothing to do
    odd = p.create_engine(storage.conn_string_for_shard("run-odd"))
    with odd.begin() as conn:
        conn.execute(sa.text("CREATE TABLE event_logs (id INTEGER PRIMARY KEY)"))
    assert not p.init_new_shard(odd)
    for engine in (stock, fast, odd):
        engine.dispose()
    storage.dispose()


def test_the_postgres_storage_internals() -> None:
    pg = p.PostgresEventLogStorage
    assert params(pg.__init__) == ["self", "postgres_url", "should_autocreate_tables",
                                   "inst_data", "token_provider"]
    assert params(pg.optimize_for_webserver) == ["self", "statement_timeout", "pool_recycle",
                                                 "max_overflow"]
    assert params(pg._connect) == ["self"]
    assert set(p.pg_config()) >= {"postgres_db", "postgres_url", "should_autocreate_tables"}
    assert params(p.create_pg_engine) == ["postgres_url", "token_provider", "engine_kwargs"]
    assert params(p.set_pg_statement_timeout) == ["conn", "millis"]
    config = {"postgres_db": {"username": "u", "password": "pw", "hostname": "h",
                              "db_name": "d", "port": 5433, "scheme": "postgresql+psycopg2"}}
    assert p.pg_url_from_config(config) == "postgresql+psycopg2://u:pw@h:5433/d"
    assert p.get_token_provider_from_config(config) is None
    assert p.ConfigurableClassData._fields == ("module_name", "class_name", "config_yaml")


def test_the_names_runs_status_and_alerts_use() -> None:
    """``forget_loaded_job`` clears two cached methods, ``BatchedReads`` is a loading context
    whose asset records are prepared in one batch, ``partition_subsets`` reads the status cache
    the UI's partition bar reads through it, alerts filter check records by one partition."""
    from dagster._core.definitions.reconstruct import ReconstructableJob

    for method in (ReconstructableJob.get_repository_definition,
                   ReconstructableJob.get_definition):
        assert callable(getattr(method, "cache_clear", None))
    p.forget_loaded_job()
    assert p.PartitionKeyFilter(key="2024-01-01").key == "2024-01-01"
    days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-04")

    @dg.asset(partitions_def=days)
    def day(context) -> None:  # type: ignore[no-untyped-def]  # Dagster reads the annotation
        if context.partition_key == "2024-01-02":
            raise RuntimeError("this day fails")

    assert issubclass(p.BatchedReads, p.LoadingContext)
    assert params(p.AssetRecord.prepare) == ["context", "ids"]
    assert {"instance", "loaders"} <= set(p.LoadingContext.__abstractmethods__)
    assert params(p.BlockingDataLoader.__init__)[:2] == ["self", "batch_load_fn"]
    assert params(p.DataLoader.__init__)[:2] == ["self", "batch_load_fn"]
    with dg.instance_for_test() as instance:
        reads = p.BatchedReads(instance)
        reads.prepare([day.key])
        assert reads.instance is instance
        assert p.partition_subsets(p.BatchedReads(instance), day.key, days) == (set(), set())
        dg.materialize([day], partition_key="2024-01-01", instance=instance)
        dg.materialize([day], partition_key="2024-01-02", instance=instance,
                       raise_on_error=False)
        found = p.partition_subsets(p.BatchedReads(instance), day.key, days)
        assert found == ({"2024-01-01"}, {"2024-01-02"})


def test_the_names_the_days_of_a_fleet_are_read_with() -> None:
    """:mod:`etl.instance.day_records` builds Dagster's own check partition records, filters
    wiped events through its storage's own methods and reads the unpartitioned latest
    materialization from the asset records (its equality with Dagster's reads is tested in
    ``tests/unit/test_day_records.py``)."""
    sql = p.SqlEventLogStorage
    assert params(sql._get_assets_details) == ["self", "asset_keys"]
    assert params(sql._add_assets_wipe_filter_to_query) == [
        "self", "query", "assets_details", "asset_keys"]
    assert params(sql._get_latest_unpartitioned_materialization_storage_ids) == ["self", "keys"]
    assert params(p.AssetRecord.blocking_get_many) == ["context", "ids"]
    info = p.AssetCheckPartitionInfo(
        check_key=dg.AssetCheckKey(KEY, "c"), partition_key="d",
        latest_execution_status=p.AssetCheckExecutionRecordStatus.FAILED,
        latest_planned_run_id="r", latest_check_event_storage_id=3,
        latest_materialization_storage_id=2, latest_target_materialization_storage_id=1)
    assert not info.is_current
    with dg.instance_for_test() as instance:
        assert p.latest_unpartitioned_materializations(p.BatchedReads(instance), [KEY]) == {}
        instance.report_runless_asset_event(dg.AssetMaterialization(KEY))
        found = p.latest_unpartitioned_materializations(p.BatchedReads(instance), [KEY])
        storage = instance.event_log_storage
        assert isinstance(storage, sql)
        assert found == storage._get_latest_unpartitioned_materialization_storage_ids([KEY])
        assert list(found) == [KEY]


def _private_imports() -> list[tuple[str, str, str]]:
    """(file, module, name) of every ``from dagster._... import name`` in ``etl/``, lazy ones
    inside functions included."""
    import ast

    found = []
    for path in sorted(Path(p.__file__).parents[1].rglob("*.py")):
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dagster._"):
                found += [(path.name, node.module or "", a.name) for a in node.names]
    return found


def test_every_private_name_imported_anywhere_in_etl_still_exists() -> None:
    """Private names outside :mod:`etl.instance.private` (run launching, backfill submission,
    code servers) are imported lazily where they are used; an upgrade that moves one must fail
    here, not in a user's run."""
    import importlib

    imports = _private_imports()
    assert len(imports) > 20  # the walk sees the lazy imports too
    missing = [f"{file}: from {module} import {name}" for file, module, name in imports
               if not hasattr(importlib.import_module(module), name)]
    assert not missing, missing
