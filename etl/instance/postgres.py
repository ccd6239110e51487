"""Dagster's PostgreSQL event log (the deployment's instance), writing buffered events in batches.

Same tables and rows as the stock class (``PostgresEventLogStorage``). A batch is one
multi-row ``INSERT ... RETURNING id`` into ``event_logs``, committed on its own as Dagster's
own batch write does (so its ids become visible together), and one transaction for every index
row. The stock class connects anew for every statement group (``NullPool``: a TCP connection
and a password exchange each time, several per event); this one keeps a small pool. Its
connections are named ``etl-event-log pid=<pid>`` (``application_name``), so
``pg_stat_activity`` shows which processes write through it.

As with the stock class when several processes write, a buffered event's id can be lower than
the id of an event another process committed a moment earlier; nothing in Dagster reads ids
across runs as a clock, and each asset's status advances from its own latest row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, cast

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from etl.instance.buffer import (
    BUFFER_CONFIG,
    DEFAULT_MAX_EVENTS,
    DEFAULT_MAX_MS,
    EventBuffer,
    IndexStageFailed,
    flush_first,
)
from etl.instance.index import Stored, write_index_rows
from etl.instance.prefetch import PrefetchedReads
from etl.instance.private import (
    ASSET_KEY_INDEX_COLS,
    AssetKeyTable,
    ConfigurableClassData,
    PostgresEventLogStorage,
    SqlEventLogStorageTable,
    create_pg_engine,
    get_token_provider_from_config,
    pg_config,
    pg_url_from_config,
    set_pg_statement_timeout,
)

POOL_SIZE = 2
APPLICATION_NAME = "etl-event-log"
NOTIFY_CHANNEL = "run_events"  # the stock class's NOTIFY channel (kept for version skew)


@flush_first
class BatchingPostgresEventLogStorage(EventBuffer, PrefetchedReads, PostgresEventLogStorage):
    """``PostgresEventLogStorage`` with buffered, batched writes and a connection pool."""

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True,
                 inst_data: ConfigurableClassData | None = None, token_provider: Any = None,
                 pool_size: int = POOL_SIZE, buffer_max_events: int = DEFAULT_MAX_EVENTS,
                 buffer_max_ms: int = DEFAULT_MAX_MS) -> None:
        self._pool_size = pool_size
        self._init_buffer(buffer_max_events, buffer_max_ms)
        self._init_prefetch()
        super().__init__(postgres_url, should_autocreate_tables=should_autocreate_tables,
                         inst_data=inst_data, token_provider=token_provider)
        self._engine.dispose()  # the stock NullPool engine
        self._engine = self._pooled_engine()
        self._index_cols: bool | None = None

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {**cast(dict[str, Any], pg_config()), **BUFFER_CONFIG,
                "pool_size": dg.Field(dg.IntSource, is_required=False, default_value=POOL_SIZE,
                                      description="Connections the process keeps open.")}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None,
                          config_value: Mapping[str, Any]) -> BatchingPostgresEventLogStorage:
        return cls(inst_data=inst_data, postgres_url=pg_url_from_config(config_value),
                   should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                   token_provider=get_token_provider_from_config(config_value),
                   pool_size=config_value.get("pool_size", POOL_SIZE),
                   buffer_max_events=config_value.get("buffer_max_events", DEFAULT_MAX_EVENTS),
                   buffer_max_ms=config_value.get("buffer_max_ms", DEFAULT_MAX_MS))

    def _pooled_engine(self, **options: Any) -> sa.Engine:
        url = sa.make_url(self.postgres_url)
        extra: dict[str, Any] = {}
        if url.get_driver_name() == "psycopg2":  # UPDATEs of check rows in pages, not one by one
            extra["executemany_mode"] = "values_plus_batch"
        connect_args: dict[str, Any] = {"application_name": f"{APPLICATION_NAME} pid={os.getpid()}"}
        if url.query.get("options"):  # as the stock webserver engine keeps them
            connect_args["options"] = url.query["options"]
        # pool_pre_ping: a connection the server dropped (a restart, a failover) is replaced
        # when it is taken, not found broken by the statement that needed it, as the stock
        # class, which connects anew each time, never sees.
        settings = {"isolation_level": "AUTOCOMMIT", "pool_size": self._pool_size,
                    "max_overflow": 4, "pool_recycle": 3600, "pool_pre_ping": True, **options}
        return create_pg_engine(self.postgres_url, self._token_provider,
                                connect_args=connect_args, **settings, **extra)

    def optimize_for_webserver(self, statement_timeout: int, pool_recycle: int,
                               max_overflow: int) -> None:
        """The stock webserver engine (one pooled connection, a statement timeout), named."""
        self._engine.dispose()
        self._engine = self._pooled_engine(pool_size=1, pool_recycle=pool_recycle,
                                           max_overflow=max_overflow)
        sa.event.listen(self._engine, "connect",
                        lambda conn, _: set_pg_statement_timeout(conn, statement_timeout))

    def dispose(self) -> None:
        try:
            super().dispose()
        finally:
            self._engine.dispose()

    def _write_batch(self, events: list[dg.EventLogEntry]) -> None:
        rows = [self._event_to_row(event) for event in events]
        insert = sa.insert(SqlEventLogStorageTable).returning(
            SqlEventLogStorageTable.c.id, sort_by_parameter_order=True)
        with self._connect() as conn:
            ids = [int(r[0]) for r in conn.execute(insert, rows)]
            conn.execute(sa.text("SELECT pg_notify(:channel, :payload)"),
                         {"channel": NOTIFY_CHANNEL, "payload": f"{events[-1].run_id}_{ids[-1]}"})
        stored = [Stored(e, i, row["event"]) for e, i, row in zip(events, ids, rows, strict=True)]

        has_cols = self._has_index_cols()

        def index() -> None:
            with self.index_transaction() as conn:
                write_index_rows(self, conn, stored, has_cols, self._upsert_asset_key)

        try:
            index()
        except Exception as error:
            raise IndexStageFailed(index) from error

    def _has_index_cols(self) -> bool:
        if self._index_cols is None:
            self._index_cols = self.has_secondary_index(ASSET_KEY_INDEX_COLS)
        return self._index_cols

    @staticmethod
    def _upsert_asset_key(conn: sa.Connection, key: str, values: Mapping[str, Any]) -> None:
        """As the stock class's ``_store_asset_event``: insert, or update on conflict."""
        query = postgresql.insert(AssetKeyTable).values(asset_key=key, **values)
        conn.execute(query.on_conflict_do_update(
            index_elements=[AssetKeyTable.c.asset_key], set_=dict(values))
            if values else query.on_conflict_do_nothing())
