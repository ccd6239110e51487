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
from dagster._core.events import (
    ASSET_CHECK_EVENTS,
    ASSET_EVENTS,
    EVENT_TYPE_TO_PIPELINE_RUN_STATUS,
)
from dagster._core.storage.asset_check_execution_record import (
    COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES as COMPLETED_CHECK_STATUSES,
)
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus as CheckStatus,
)
from dagster._core.storage.config import pg_config
from dagster._core.storage.event_log.base import EventLogStorage
from dagster._core.storage.event_log.migration import ASSET_KEY_INDEX_COLS
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    AssetKeyTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from dagster_postgres.event_log.event_log import PostgresEventLogStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
    set_pg_statement_timeout,
)

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
    "AssetCheckExecutionsTable",
    "AssetKeyTable",
    "CheckPlannedData",
    "CheckStatus",
    "CheckTarget",
    "ConfigurableClassData",
    "EventLogStorage",
    "PostgresEventLogStorage",
    "SqlEventLogStorage",
    "SqlEventLogStorageTable",
    "SqliteEventLogStorage",
    "create_engine",
    "create_pg_engine",
    "get_input_data_version_tag",
    "get_input_event_pointer_tag",
    "get_token_provider_from_config",
    "pg_config",
    "pg_url_from_config",
    "set_pg_statement_timeout",
]
