"""The DuckDB loader: a DuckDB file with the same replace-a-day semantics as Trino.

Each load runs in one transaction (delete the day, insert the day), so a reader sees the old
day or the new day and a rerun never duplicates rows.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from etl.naming import PARTITION_COLUMN
from etl.utils.sql import quote
from etl.warehouse.base import (
    LoadMode,
    LoadRequest,
    LoadResult,
    WarehouseError,
    check_no_partition_column,
    plan_columns,
)

LOCK_WAIT_S = 300.0
# DuckDB has one writer per file: loads from threads of one process take turns here, other
# processes wait on DuckDB's own file lock in ``connect``.
_WRITERS: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_WRITERS_GUARD = threading.Lock()


def _writer_lock(path: str) -> threading.Lock:
    with _WRITERS_GUARD:
        return _WRITERS[path]


class DuckDBWarehouse:
    def __init__(self, path: str, schema: str) -> None:
        self.path = str(Path(path).resolve())
        self.schema = schema

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Open the file, waiting while another process holds DuckDB's single-writer lock."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + LOCK_WAIT_S
        delay = 0.05
        while True:
            try:
                return duckdb.connect(self.path, read_only=read_only)
            except duckdb.IOException as e:
                if "lock" not in str(e).lower() or time.monotonic() > deadline:
                    raise WarehouseError(f"cannot open DuckDB file {self.path}: {e}") from e
                time.sleep(delay + random.random() * delay)
                delay = min(delay * 2, 2.0)

    def qualified(self, table: str) -> str:
        return f"{quote(self.schema)}.{quote(table)}"

    def load(self, request: LoadRequest) -> LoadResult:
        check_no_partition_column(request.table, request.data.schema)
        with _writer_lock(self.path):
            return self._load(request)

    def _load(self, request: LoadRequest) -> LoadResult:
        target = self.qualified(request.table)
        con = self.connect()
        try:
            con.register("incoming", request.data)
            relation = con.table("incoming")
            incoming = dict(zip(relation.columns, map(str, relation.types), strict=True))
            con.execute("BEGIN TRANSACTION")
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")
            existing = self._columns(con, request.table)
            added: list[str] = []
            if not existing:
                partition = f", NULL::DATE AS {PARTITION_COLUMN}" if request.partition_key else ""
                con.execute(f"CREATE TABLE {target} AS SELECT *{partition} FROM incoming LIMIT 0")
            else:
                added = plan_columns(target, existing, incoming, request.schema_drift)
                for name in added:
                    con.execute(f"ALTER TABLE {target} ADD COLUMN {quote(name)} {incoming[name]}")
            cols = ", ".join(quote(c) for c in incoming)
            if request.partition_key is None:
                con.execute(f"DELETE FROM {target}")
                con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM incoming")
            else:
                day = request.partition_key
                con.execute(f"DELETE FROM {target} WHERE {PARTITION_COLUMN} = ?::DATE", [day])
                con.execute(
                    f"INSERT INTO {target} ({cols}, {PARTITION_COLUMN}) "
                    f"SELECT {cols}, ?::DATE FROM incoming", [day],
                )
            con.execute("COMMIT")
            rows = self._count(con, request.table, request.partition_key)
            return LoadResult(table=f"{self.schema}.{request.table}", rows=rows,
                              added_columns=tuple(added))
        except duckdb.Error as e:
            raise WarehouseError(f"loading {target} into {self.path} failed: {e}") from e
        finally:
            con.close()

    def count_rows(self, table: str, partition_key: str | None, mode: LoadMode | None) -> int:
        con = self.connect()
        try:
            return self._count(con, table, partition_key)
        finally:
            con.close()

    def _columns(self, con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
        rows = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [self.schema, table],
        ).fetchall()
        return {str(name): str(typ) for name, typ in rows}

    def _count(self, con: duckdb.DuckDBPyConnection, table: str, partition_key: str | None) -> int:
        if not self._columns(con, table):
            return 0
        sql = f"SELECT count(*) FROM {self.qualified(table)}"
        params: list[str] = []
        if partition_key is not None:
            sql += f" WHERE {PARTITION_COLUMN} = ?::DATE"
            params.append(partition_key)
        row = con.execute(sql, params).fetchone()
        return int(row[0]) if row else 0
