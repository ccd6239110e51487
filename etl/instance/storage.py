"""The event-log storages every ``dagster.yaml`` of the project names, and their blocks.

``event_log_storage: {module: etl.instance.storage, class: ...}`` is Dagster's own extension
point: each process that loads the instance (the webserver, the daemon, a run worker, the
``etl`` command) builds the storage from it, so all of them write and read through the same
class. The local home (:mod:`etl.runs.home`) names the SQLite one with the folder the stock
class uses; the deployment (:mod:`etl.deploy.instance`, :mod:`etl.deploy.helm`) the
PostgreSQL one beside Dagster's own run and schedule storages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl.instance.buffer import DEFAULT_MAX_EVENTS, DEFAULT_MAX_MS
from etl.instance.postgres import BatchingPostgresEventLogStorage
from etl.instance.sqlite import BatchingSqliteEventLogStorage

MODULE = __name__
SQLITE_CLASS = BatchingSqliteEventLogStorage.__name__
POSTGRES_CLASS = BatchingPostgresEventLogStorage.__name__
BUFFER = {"buffer_max_events": DEFAULT_MAX_EVENTS, "buffer_max_ms": DEFAULT_MAX_MS}

__all__ = ["BatchingPostgresEventLogStorage", "BatchingSqliteEventLogStorage",
           "postgres_storages", "sqlite_event_log"]


def sqlite_event_log(home: Path) -> dict[str, Any]:
    """The ``event_log_storage`` block of a local home: the stock class's folder."""
    return {"module": MODULE, "class": SQLITE_CLASS,
            "config": {"base_dir": str(home.resolve() / "history" / "runs"), **BUFFER}}


def postgres_storages(postgres_db: dict[str, Any]) -> dict[str, Any]:
    """``run_storage``, ``event_log_storage`` and ``schedule_storage`` on one PostgreSQL
    database (what ``storage: postgres:`` would give, with the batching event log)."""
    config = {"postgres_db": postgres_db}
    return {
        "run_storage": {"module": "dagster_postgres.run_storage", "class": "PostgresRunStorage",
                        "config": config},
        "event_log_storage": {"module": MODULE, "class": POSTGRES_CLASS,
                              "config": {**config, **BUFFER}},
        "schedule_storage": {"module": "dagster_postgres.schedule_storage",
                             "class": "PostgresScheduleStorage", "config": config},
    }
