"""The DuckDB loader: a DuckDB file with the same replace-a-day semantics as Trino.

Each load runs in one transaction (delete the days, insert their rows), so a reader sees the
old days or the new ones, a rerun never duplicates rows, and a range of days costs the same
few statements as one day. Columns get the types every warehouse shows
(:mod:`etl.warehouse.duckdb_types`).

A local lake's files are read by DuckDB's own Parquet reader, under the connection's
``memory_limit``: rows past it go to the database file as they are inserted rather than being
held until the commit, so a load of years of history stays within the limit. (An Arrow dataset
scan, the way S3 files are read here, allocates outside DuckDB's limit: loading the 2,000-day
bench history ad hoc, it peaked near 700 MiB where ``read_parquet`` under a 128 MB limit stayed
near 250 MiB.)
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import duckdb

from etl.naming import PARTITION_COLUMN
from etl.utils.sql import literal, quote
from etl.warehouse.base import (
    LoadMode,
    LoadRequest,
    LoadResult,
    MergeRequest,
    MergeResult,
    WarehouseError,
    check_no_partition_column,
    plan_columns,
    required_columns,
)
from etl.warehouse.duckdb_types import UPGRADES, select_list

LOCK_WAIT_S = 300.0
# DuckDB has one writer per file: loads from threads of one process take turns here, other
# processes wait on DuckDB's own file lock in ``connect``.
_WRITERS: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_WRITERS_GUARD = threading.Lock()
FILE_COLUMN = "__etl_lake_file"  # read_parquet's file name column; never a table column


def _writer_lock(path: str) -> threading.Lock:
    with _WRITERS_GUARD:
        return _WRITERS[path]


class _Counted:
    """A connection's ``execute`` that counts the statements a load runs (it reports them)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.statements = 0
        row = con.execute("SELECT current_database()").fetchone()
        # The file's catalog: names are written catalog.schema.table, since a schema named
        # like the file (tenant t_a in t_a.duckdb) makes schema.table ambiguous.
        self.catalog = str(row[0]) if row else "memory"

    def __call__(self, sql: str, params: object = None) -> duckdb.DuckDBPyConnection:
        self.statements += 1
        return self.con.execute(sql, params)


def _upgrade(run: _Counted, target: str, existing: dict[str, str],
             incoming: dict[str, str]) -> None:
    """Widen columns of tables loaded before the shared types (SMALLINT, text uuids) in place."""
    for name, new in incoming.items():
        old = existing.get(name)
        if old is not None and old != new and (
                (old, new) in UPGRADES or ((old.removesuffix("[]"), new.removesuffix("[]"))
                in UPGRADES and old.endswith("[]") and new.endswith("[]"))):
            run(f"ALTER TABLE {target} ALTER COLUMN {quote(name)} TYPE {new}")
            existing[name] = new


class DuckDBWarehouse:
    def __init__(self, path: str, schema: str, memory_limit: str | None = None) -> None:
        self.given = path
        self.path = str(Path(path).resolve())
        self.schema = schema
        self.memory_limit = memory_limit

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Open the file, waiting while another process holds DuckDB's single-writer lock.

        The file must be itself: a link put in its place (into a tenant's lake folder, say)
        would have DuckDB create or change the file it leads to, so it fails the load instead.
        """
        if Path(self.given).is_symlink() or str(Path(self.given).resolve()) != self.path:
            raise WarehouseError(
                f"the DuckDB file {self.given} is a symbolic link (to "
                f"{Path(self.given).resolve()}); a warehouse file must be a file of its own, "
                "not a link to one: remove the link")
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

    def qualified(self, run: _Counted, table: str) -> str:
        return f"{quote(run.catalog)}.{quote(self.schema)}.{quote(table)}"

    def load(self, request: LoadRequest) -> LoadResult:
        check_no_partition_column(request)
        with _writer_lock(self.path):
            return self._load(request)

    def _load(self, request: LoadRequest) -> LoadResult:
        """One transaction whatever the number of days: delete them, insert the new rows."""
        part = quote(request.partition_column)
        con = self.connect()
        run = _Counted(con)
        target = self.qualified(run, request.table)
        try:
            if self.memory_limit is not None:
                con.execute(f"SET memory_limit = {literal(self.memory_limit)}")
            con.execute("SET preserve_insertion_order = false")  # a table keeps no row order
            columns = select_list(request.schema)
            if request.days is not None:
                columns.append(_day_column(request) if request.local_paths else part)
            run(f"CREATE TEMP VIEW incoming AS SELECT {', '.join(columns)} "
                f"FROM {_lake_files(con, request)}")
            relation = con.table("incoming")
            incoming = dict(zip(relation.columns, map(str, relation.types), strict=True))
            run("BEGIN TRANSACTION")
            run(f"CREATE SCHEMA IF NOT EXISTS {quote(run.catalog)}.{quote(self.schema)}")
            existing = self._columns(run, request.table)
            added: list[str] = []
            if not existing:
                run(f"CREATE TABLE {target} AS SELECT * FROM incoming LIMIT 0")
                for name in required_columns(request):
                    run(f"ALTER TABLE {target} ALTER COLUMN {quote(name)} SET NOT NULL")
            else:
                for name in self._required(run, request.table) - required_columns(request):
                    if name in incoming:  # the source dropped NOT NULL: so does the table
                        run(f"ALTER TABLE {target} ALTER COLUMN {quote(name)} DROP NOT NULL")
                self._check_partitioning(target, existing, request)
                _upgrade(run, target, existing, incoming)
                added = plan_columns(target, existing, incoming, request.schema_drift,
                                     request.partition_column)
                for name in added:
                    run(f"ALTER TABLE {target} ADD COLUMN {quote(name)} {incoming[name]}")
            cols = ", ".join(quote(c) for c in incoming)
            if request.days is None:
                run(f"DELETE FROM {target}")
            else:
                run(f"DELETE FROM {target} WHERE {part} IN (SELECT unnest({_dates(request.days)}))")
            run(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM incoming")
            run("COMMIT")
            if request.days is None:
                rows, by_day = self._count_all(run, request.table), {}
            else:
                by_day = self._count_days(run, request.table, request.days,
                                          request.partition_column)
                rows = sum(by_day.values())
            return LoadResult(table=f"{self.schema}.{request.table}", rows=rows,
                              rows_by_day=by_day, added_columns=tuple(added),
                              statements=run.statements)
        except duckdb.Error as e:
            raise WarehouseError(f"loading {target} into {self.path} failed: {e}") from e
        finally:
            con.close()

    @staticmethod
    def _check_partitioning(target: str, existing: dict[str, str], request: LoadRequest) -> None:
        if (request.partition_column in existing) != (request.days is not None):
            have = ("partitioned by " + request.partition_column
                    if request.partition_column in existing else "unpartitioned")
            want = "a daily pipeline" if request.days is not None else "master data"
            raise WarehouseError(
                f"table {target} is {have} but the load is for {want}; drop the table (or "
                "rename the pipeline) to change a pipeline between daily and master data"
            )

    def merge(self, request: MergeRequest) -> MergeResult:
        from etl.warehouse.duckdb_merge import merge

        return merge(self, request)

    def count_days(self, table: str, days: Sequence[str], mode: LoadMode | None,
                   partition_column: str = PARTITION_COLUMN) -> dict[str, int]:
        con = self.connect()
        try:
            return self._count_days(_Counted(con), table, days, partition_column)
        finally:
            con.close()

    def count_all(self, table: str, mode: LoadMode | None) -> int:
        con = self.connect()
        try:
            return self._count_all(_Counted(con), table)
        finally:
            con.close()

    def _columns(self, run: _Counted, table: str) -> dict[str, str]:
        rows = run(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [run.catalog, self.schema, table],
        ).fetchall()
        return {str(name): str(typ) for name, typ in rows}

    def _required(self, run: _Counted, table: str) -> set[str]:
        """The table's NOT NULL columns."""
        rows = run(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND "
            "table_schema = ? AND table_name = ? AND is_nullable = 'NO'",
            [run.catalog, self.schema, table],
        ).fetchall()
        return {str(name) for (name,) in rows}

    def _count_days(self, run: _Counted, table: str, days: Sequence[str],
                    partition_column: str) -> dict[str, int]:
        counts = dict.fromkeys(days, 0)
        if not days or not self._columns(run, table):
            return counts
        part = quote(partition_column)
        rows = run(
            f"SELECT strftime({part}, '%Y-%m-%d'), count(*) FROM {self.qualified(run, table)} "
            f"WHERE {part} IN (SELECT unnest({_dates(days)})) GROUP BY 1").fetchall()
        counts.update({str(day): int(n) for day, n in rows})
        return counts

    def _count_all(self, run: _Counted, table: str) -> int:
        if not self._columns(run, table):
            return 0
        row = run(f"SELECT count(*) FROM {self.qualified(run, table)}").fetchone()
        return int(row[0]) if row else 0


def _dates(days: Sequence[str]) -> str:
    """The days as a DATE[] literal. Not a parameter: DuckDB's Python client looks for pandas
    and numpy types on every bound value, failing imports thousands of times for a long range
    (1 s of a 2,000-day load, profiled)."""
    return f"[{', '.join(literal(d) for d in days)}]::DATE[]"


def _lake_files(con: duckdb.DuckDBPyConnection, request: LoadRequest) -> str:
    """What the load reads: a local lake's files by path, else the Arrow dataset."""
    if not request.local_paths:
        con.register("lake_files", request.data)
        return "lake_files"
    files = ", ".join(literal(p) for p in request.local_paths)
    union = "" if request.uniform_schema else ", union_by_name = true"  # a column added later
    # The day comes from the file's folder, not from hive_partitioning, which would also turn
    # any ``name=value`` folder above the lake into a column.
    return (f"read_parquet([{files}], hive_partitioning = false, "
            f"filename = {literal(FILE_COLUMN)}{union})")


def _day_column(request: LoadRequest) -> str:
    """The day of each row, from its file's ``<column>=YYYY-MM-DD`` folder."""
    folder = "/" + re.escape(request.partition_column) + r"=([0-9]{4}-[0-9]{2}-[0-9]{2})/[^/]*$"
    return (f"CAST(regexp_extract({quote(FILE_COLUMN)}, {literal(folder)}, 1) AS DATE) "
            f"AS {quote(request.partition_column)}")
