"""Dagster's SQLite event log (the local ``DAGSTER_HOME``), writing buffered events in batches.

The files, tables and rows are the stock class's (``SqliteEventLogStorage``): one database per
run plus the index shard, where asset and check events are mirrored under their storage ids.
What changes is how they are written. A batch is one transaction in the run's database and one
in the index shard (the mirrored rows, their tags, the assets' rows and the check rows), where
the stock class opens a new engine for every connection and commits each event two or three
times. Engines are kept (one per shard, the most recent 16), and the checks the stock class
repeats per event (does a table exist, does ``asset_keys`` have its index columns) are asked
once.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
import sqlalchemy as sa
import sqlalchemy.pool as sa_pool

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
    ASSET_CHECK_EVENTS,
    ASSET_EVENTS,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    AssetKeyTable,
    ConfigurableClassData,
    SqlEventLogStorageTable,
    SqliteEventLogStorage,
    create_engine,
    init_new_shard,
)

MAX_ENGINES = 16


@flush_first
class BatchingSqliteEventLogStorage(EventBuffer, PrefetchedReads, SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with buffered, batched writes (same files, same rows)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None,
                 buffer_max_events: int = DEFAULT_MAX_EVENTS,
                 buffer_max_ms: int = DEFAULT_MAX_MS) -> None:
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._tables: set[str] = set()
        self._index_cols: bool | None = None
        self._init_buffer(buffer_max_events, buffer_max_ms)
        self._init_prefetch()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": dg.StringSource, **BUFFER_CONFIG}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None,
                          config_value: Mapping[str, Any]) -> BatchingSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    # --- connections: one engine per shard, kept -------------------------------------------

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        with self._db_lock:
            engine = self._engine_for(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _initdb(self, engine: sa.Engine, for_index_shard: bool = False) -> None:
        """A run's new database as Dagster makes it, its migration scripts read once per process
        (:func:`~etl.instance.private.init_new_shard`); anything else, or two processes creating
        the same file at once, is Dagster's own ``_initdb`` (it retries such races)."""
        if not for_index_shard:
            try:
                if init_new_shard(engine):
                    return
            except (sa.exc.DatabaseError, sqlite3.DatabaseError):
                pass
        super()._initdb(engine, for_index_shard)

    def _engine_for(self, shard: str) -> sa.Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard), poolclass=sa_pool.QueuePool, pool_size=1,
            max_overflow=2,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
        self._engines[shard] = engine
        while len(self._engines) > MAX_ENGINES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def _dispose_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)
        return table_name in self._tables

    def _has_asset_key_index_cols_on_connection(self, conn: sa.Connection) -> bool:
        if self._index_cols is None:
            self._index_cols = super()._has_asset_key_index_cols_on_connection(conn)
        return self._index_cols

    def wipe(self) -> None:
        self._dispose_engines()
        super().wipe()
        self._tables.clear()
        self._index_cols = None

    def delete_events(self, run_id: str) -> None:
        super().delete_events(run_id)
        with self._db_lock:
            engine = self._engines.pop(run_id, None)
        if engine is not None:
            engine.dispose()

    def dispose(self) -> None:
        try:
            super().dispose()
        finally:
            self._dispose_engines()

    # --- the batch -------------------------------------------------------------------------

    def _write_batch(self, events: list[dg.EventLogEntry]) -> None:
        """The run's rows in one transaction, then the index shard's in another (the mirrored
        asset and check events, whose ids there are their storage ids, and their index rows)."""
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        mirrored = [(e, row) for e, row in zip(events, rows, strict=True)
                    if e.dagster_event_type in ASSET_EVENTS
                    or e.dagster_event_type in ASSET_CHECK_EVENTS]
        if not mirrored:
            return

        def index() -> None:
            with self.index_transaction() as conn:
                insert = sa.insert(SqlEventLogStorageTable).returning(
                    SqlEventLogStorageTable.c.id, sort_by_parameter_order=True)
                ids = [int(r[0]) for r in conn.execute(insert, [row for _, row in mirrored])]
                stored = [Stored(e, i, row["event"])
                          for (e, row), i in zip(mirrored, ids, strict=True)]
                write_index_rows(self, conn, stored,
                                 self._has_asset_key_index_cols_on_connection(conn),
                                 self._upsert_asset_key)

        try:
            index()
        except Exception as error:
            raise IndexStageFailed(index) from error

    @staticmethod
    def _upsert_asset_key(conn: sa.Connection, key: str, values: Mapping[str, Any]) -> None:
        if not values:  # as the stock write: nothing to set, no row
            return
        table = AssetKeyTable
        found = conn.execute(sa.select(table.c.id).where(table.c.asset_key == key)).first()
        if found is None:
            conn.execute(table.insert().values(asset_key=key, **values))
        else:
            conn.execute(table.update().values(**values).where(table.c.asset_key == key))
