"""Every private Dagster name the project's instance and stages use, imported here.

Dagster is pinned (``pyproject.toml``: ``dagster==1.13.27``, ``dagster-postgres==0.29.27``);
these names are not part of its public API and may move in any release.
``tests/unit/test_dagster_private.py`` checks each one (its place, its signature, the behaviour
relied on), so an upgrade that changes one fails there, loudly, instead of in a run.

The event-log storages (:mod:`etl.instance.storage`) subclass Dagster's own SQLite and
PostgreSQL event logs and write the same rows in batches; what they write is replicated from
``SqlEventLogStorage.store_event`` and ``store_asset_check_event`` (``sql_event_log.py``),
``SqliteEventLogStorage.store_event`` and ``PostgresEventLogStorage.store_event``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationPlanned as CheckPlannedData,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData as CheckTarget,
)
from dagster._core.definitions.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_TAG,
    get_input_data_version_tag,
    get_input_event_pointer_tag,
)
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.events import (
    ASSET_CHECK_EVENTS,
    ASSET_EVENTS,
    EVENT_TYPE_TO_PIPELINE_RUN_STATUS,
)
from dagster._core.loader import LoadingContext
from dagster._core.storage.asset_check_execution_record import (
    COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES as COMPLETED_CHECK_STATUSES,
)
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus,
    AssetCheckPartitionInfo,
)
from dagster._core.storage.config import pg_config
from dagster._core.storage.event_log.base import (
    AssetRecord,
    EventLogStorage,
    PlannedMaterializationInfo,
)
from dagster._core.storage.event_log.migration import ASSET_KEY_INDEX_COLS
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    AssetKeyTable,
    SqlEventLogStorageMetadata,
    SqlEventLogStorageTable,
)
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine, get_alembic_config
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from dagster._utils.aiodataloader import BlockingDataLoader, DataLoader
from dagster_postgres.event_log.event_log import PostgresEventLogStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
    set_pg_statement_timeout,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from dagster import AssetKey, DagsterInstance, PartitionsDefinition


@functools.cache
def event_log_migrations() -> ScriptDirectory:
    """The SQLite event log's alembic scripts, read once per process (their revision map is
    then resolved once too)."""
    return ScriptDirectory.from_config(get_alembic_config(sqlite_event_log.__file__))


def init_new_shard(engine: sa.Engine) -> bool:
    """What ``SqliteEventLogStorage._initdb`` does for a run's database, without reading the
    migration scripts again: a stamped database is left as it is; one without tables gets the
    event log's tables, WAL, and the head revision. False (nothing done): tables without a
    revision, which Dagster's own ``_initdb`` handles.

    Dagster's own loads and resolves every migration script of the event log for each new run
    (``check_alembic_revision``, then ``stamp``): 0.1-0.2 s a run, a third of a small run's time.
    """
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision():
            return True
        if sa.inspect(conn).get_table_names():
            return False
        SqlEventLogStorageMetadata.create_all(engine)
        conn.execute(sa.text("PRAGMA journal_mode=WAL;"))
        MigrationContext.configure(conn).stamp(event_log_migrations(), "head")
        conn.commit()
    return True


def forget_loaded_job() -> None:
    """Drop the job definition Dagster keeps from the last run executed in this process: it is
    cached by the job's code origin, which is the same for every tenant served by
    ``etl.tenant_location``."""
    from dagster._core.definitions.reconstruct import ReconstructableJob

    ReconstructableJob.get_repository_definition.cache_clear()
    ReconstructableJob.get_definition.cache_clear()


class BatchedReads(LoadingContext):
    """Reads of many assets in one query each, as the UI batches them per request: the asset
    records of every key named in :meth:`prepare` are fetched together on first use."""

    def __init__(self, instance: DagsterInstance) -> None:
        self._instance = instance
        self._loaders: dict[type, tuple[DataLoader[Any, Any], BlockingDataLoader[Any, Any]]] = {}

    @property
    def instance(self) -> DagsterInstance:
        return self._instance

    @property
    def loaders(self) -> dict[type, tuple[DataLoader[Any, Any], BlockingDataLoader[Any, Any]]]:
        return self._loaders

    def prepare(self, keys: Iterable[AssetKey]) -> None:
        AssetRecord.prepare(self, keys)


def add_wipe_filter(storage: SqlEventLogStorage, query: Any,
                    keys: Sequence[AssetKey]) -> Any:
    """``query`` over the event log, keeping only the events of ``keys`` after each one's last
    wipe, as Dagster's own reads filter them."""
    details = storage._get_assets_details(keys)
    return storage._add_assets_wipe_filter_to_query(query, details, keys)


def latest_unpartitioned_materializations(reads: BatchedReads, keys: Sequence[AssetKey]
                                          ) -> dict[AssetKey, int]:
    """The storage id of each asset's newest materialization when that one has no partition,
    which ``get_asset_check_partition_info`` counts as every partition's latest: as
    ``EventLogStorage._get_latest_unpartitioned_materialization_storage_ids`` finds it, from
    the asset records ``reads`` holds (one query for all not yet loaded)."""
    found: dict[AssetKey, int] = {}
    for record in AssetRecord.blocking_get_many(reads, keys):
        if record is None:
            continue
        entry = record.asset_entry
        last = entry.last_materialization_record
        if last is not None and last.event_log_entry.get_dagster_event().partition is None \
                and entry.last_materialization_storage_id is not None:
            found[entry.asset_key] = entry.last_materialization_storage_id
    return found


def partition_subsets(reads: BatchedReads, key: AssetKey,
                      partitions: PartitionsDefinition[str]) -> tuple[set[str], set[str]]:
    """(materialized, failed) days of ``key``, as the UI's partition bar shows them: from
    Dagster's status cache, brought up to date first."""
    from dagster._core.storage.partition_status_cache import (
        get_and_update_asset_status_cache_value,
    )

    value = get_and_update_asset_status_cache_value(reads.instance, key, partitions,
                                                    loading_context=reads)
    if value is None:
        return set(), set()
    done = value.deserialize_materialized_partition_subsets(partitions)
    failed = value.deserialize_failed_partition_subsets(partitions)
    return set(done.get_partition_keys()), set(failed.get_partition_keys())


__all__ = [
    "ASSET_CHECK_EVENTS",
    "ASSET_EVENTS",
    "ASSET_KEY_INDEX_COLS",
    "CODE_VERSION_TAG",
    "COMPLETED_CHECK_STATUSES",
    "DATA_VERSION_TAG",
    "EVENT_TYPE_TO_PIPELINE_RUN_STATUS",
    "INDEX_SHARD_NAME",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "AssetCheckExecutionRecordStatus",
    "AssetCheckExecutionsTable",
    "AssetCheckPartitionInfo",
    "AssetKeyTable",
    "AssetRecord",
    "BatchedReads",
    "BlockingDataLoader",
    "CheckPlannedData",
    "CheckTarget",
    "ConfigurableClassData",
    "DataLoader",
    "EventLogStorage",
    "LoadingContext",
    "PartitionKeyFilter",
    "PlannedMaterializationInfo",
    "PostgresEventLogStorage",
    "SqlEventLogStorage",
    "SqlEventLogStorageMetadata",
    "SqlEventLogStorageTable",
    "SqliteEventLogStorage",
    "add_wipe_filter",
    "create_engine",
    "create_pg_engine",
    "event_log_migrations",
    "forget_loaded_job",
    "get_alembic_config",
    "get_input_data_version_tag",
    "get_input_event_pointer_tag",
    "get_token_provider_from_config",
    "init_new_shard",
    "latest_unpartitioned_materializations",
    "partition_subsets",
    "pg_config",
    "pg_url_from_config",
    "set_pg_statement_timeout",
    "sqlite_event_log",
]
