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

import re
from collections.abc import Sequence

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
from etl.warehouse.duckdb_file import Counted, DuckDBFile, keep_required, upgrade, writer_lock
from etl.warehouse.duckdb_limits import LOAD_MEMORY_LIMIT
from etl.warehouse.duckdb_merge import merge
from etl.warehouse.duckdb_types import select_list

FILE_COLUMN = "__etl_lake_file"  # read_parquet's file name column; never a table column


class DuckDBWarehouse(DuckDBFile):
    def load(self, request: LoadRequest) -> LoadResult:
        check_no_partition_column(request)
        with writer_lock(self.path):
            return self._load(request)

    def _load(self, request: LoadRequest) -> LoadResult:
        """One transaction whatever the number of days: delete them, insert the new rows."""
        part = quote(request.partition_column)
        con = self.connect()
        run = self.writing(con, LOAD_MEMORY_LIMIT)
        target = self.qualified(run, request.table)
        try:
            columns = select_list(request.schema)
            if request.days is not None:
                columns.append(_day_column(request) if request.local_paths else part)
            run(f"CREATE TEMP VIEW incoming AS SELECT {', '.join(columns)} "
                f"FROM {_lake_files(con, request)}")
            relation = con.table("incoming")
            incoming = dict(zip(relation.columns, map(str, relation.types), strict=True))
            run("BEGIN TRANSACTION")
            run(f"CREATE SCHEMA IF NOT EXISTS {quote(run.catalog)}.{quote(self.schema)}")
            existing = self.columns(run, request.table)
            added: list[str] = []
            if not existing:
                run(f"CREATE TABLE {target} AS SELECT * FROM incoming LIMIT 0")
                for name in required_columns(request):
                    run(f"ALTER TABLE {target} ALTER COLUMN {quote(name)} SET NOT NULL")
            else:
                keep_required(run, target, self.required(run, request.table),
                              required_columns(request), incoming)
                self._check_partitioning(target, existing, request)
                upgrade(run, target, existing, incoming)
                added = plan_columns(target, existing, incoming, request.schema_drift,
                                     request.partition_column)
                for name in added:
                    run(f"ALTER TABLE {target} ADD COLUMN {quote(name)} {incoming[name]}")
            cols = ", ".join(quote(c) for c in incoming)
            self.clear(run, request.table, None if request.days is None else
                       f"{part} IN (SELECT unnest({_dates(request.days)}))")
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
            raise WarehouseError(f"loading {target} into {self.path} failed: "
                                 f"{self.failure(e, LOAD_MEMORY_LIMIT)}") from e
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
        return merge(self, request)

    def count_days(self, table: str, days: Sequence[str], mode: LoadMode | None,
                   partition_column: str = PARTITION_COLUMN) -> dict[str, int]:
        con = self.connect()
        try:
            return self._count_days(Counted(con), table, days, partition_column)
        finally:
            con.close()

    def count_all(self, table: str, mode: LoadMode | None) -> int:
        con = self.connect()
        try:
            return self._count_all(Counted(con), table)
        finally:
            con.close()

    def _count_days(self, run: Counted, table: str, days: Sequence[str],
                    partition_column: str) -> dict[str, int]:
        counts = dict.fromkeys(days, 0)
        if not days or not self.columns(run, table):
            return counts
        part = quote(partition_column)
        rows = run(
            f"SELECT strftime({part}, '%Y-%m-%d'), count(*) FROM {self.qualified(run, table)} "
            f"WHERE {part} IN (SELECT unnest({_dates(days)})) GROUP BY 1").fetchall()
        counts.update({str(day): int(n) for day, n in rows})
        return counts

    def _count_all(self, run: Counted, table: str) -> int:
        if not self.columns(run, table):
            return 0
        return run.count(f"SELECT count(*) FROM {self.qualified(run, table)}")


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
