"""The Trino loader: Parquet on S3 exposed as Hive external tables or loaded into Iceberg.

``external`` (zero copy). A Hive external table over the pipeline stage's folder, one
registered partition per day (``dt varchar``, last) at its canonical ``dt=<day>/`` folder. The
writer replaces that folder's single file atomically, so the first load registers the day and
a rerun only flushes Trino's metadata cache: readers see the old file or the new one, never an
empty or partial day, and other days are untouched. Master data is an unpartitioned table over
``latest/``, whose file the writer swaps atomically, so readers see the old or the new snapshot.

``iceberg`` (managed copy). The day's Parquet is read through a Hive staging table over that
exact folder and written into an Iceberg table partitioned by ``dt date``. Trino cannot
replace an Iceberg partition atomically (``DELETE`` + ``INSERT`` are two commits, trino#11602,
and Iceberg has no insert-overwrite), so one ``MERGE`` does both: its source is the new rows
plus one marker row whose ``dt`` matches every old row of the day; matched old rows are deleted,
unmatched new rows inserted, all in one Iceberg snapshot. Readers see the old or the new day,
a rerun never duplicates, and other days are not touched (the ON clause prunes to the day).
The cost: old rows are removed with position-delete files, so run ``optimize`` and
``expire_snapshots`` as maintenance. Master data uses ``CREATE OR REPLACE TABLE ... AS``, one
atomic snapshot of the same table (history kept).

Parallel loads (a backfill's days side by side, or a rerun overlapping a scheduled run of the
same day) are safe: creating schemas and tables tolerates losing the race, each Iceberg load has
its own staging table, and a conflicting Iceberg commit is retried.

Timestamps are pinned to microseconds and UTC on the server (``hive.timestamp-precision``,
``hive.parquet.time-zone``); the S3 endpoint and keys are catalog properties, not ours.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from etl.naming import PARTITION_COLUMN
from etl.utils.sql import literal, quote
from etl.warehouse.base import (
    LoadMode,
    LoadRequest,
    LoadResult,
    WarehouseError,
    check_no_partition_column,
    plan_columns,
)
from etl.warehouse.trino.session import TrinoSession, TrinoStatementError
from etl.warehouse.trino.types import (
    check_name,
    column_types,
    iceberg_expression,
    spelling,
)

STAGING_INFIX: Final = "__staging_"
MERGE_MARKER: Final = "__etl_replace_day"
COMMIT_RETRIES: Final = 5
_PARTITION = quote(PARTITION_COLUMN)
_PARTITION_LIST = f"ARRAY[{literal(PARTITION_COLUMN)}]"


class TrinoWarehouse:
    """Loads into ``<catalog>.<schema>`` (external) or ``<iceberg_catalog>.<schema>``."""

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        address: str,
        catalog: str,
        iceberg_catalog: str,
        schema: str,
        default_mode: LoadMode,
        secrets: tuple[str | None, ...] = (),
    ) -> None:
        self._connect = connect
        self.address = address
        self.catalog = check_name("catalog", catalog)
        self.iceberg_catalog = check_name("catalog", iceberg_catalog)
        self.schema = check_name("schema", schema)
        self.default_mode = default_mode
        self._secrets = secrets

    def session(self) -> TrinoSession:
        return TrinoSession(self._connect, self.address, self._secrets)

    def qualified(self, mode: LoadMode, table: str) -> str:
        catalog = self.iceberg_catalog if mode == "iceberg" else self.catalog
        return f"{quote(catalog)}.{quote(self.schema)}.{quote(table)}"

    def display(self, mode: LoadMode, table: str) -> str:
        catalog = self.iceberg_catalog if mode == "iceberg" else self.catalog
        return f"{catalog}.{self.schema}.{table}"

    def load(self, request: LoadRequest) -> LoadResult:
        mode = request.mode or self.default_mode
        table = check_name("table", request.table)
        check_no_partition_column(table, request.data.schema)
        day = _day(request.partition_key)
        folder = _s3_folder(request, self.display(mode, table))
        with self.session() as s:
            if mode == "external":
                added = self._load_external(s, request, table, day, folder)
            else:
                added = self._load_iceberg(s, request, table, day, folder)
            rows = self._count(s, mode, table, day)
        return LoadResult(table=self.display(mode, table), rows=rows, added_columns=added)

    def count_rows(self, table: str, partition_key: str | None, mode: LoadMode | None) -> int:
        with self.session() as s:
            return self._count(s, mode or self.default_mode, check_name("table", table),
                               _day(partition_key))

    # --- external ---------------------------------------------------------------------------

    def _load_external(self, s: TrinoSession, request: LoadRequest, table: str, day: str | None,
                       folder: str) -> tuple[str, ...]:
        target, label = self.qualified("external", table), self.display("external", table)
        incoming = column_types(request.data.schema, "hive", label)
        location = request.dataset_uri.rstrip("/") + "/" if day else folder
        self._ensure_schema(s, self.catalog)
        existing = self._columns(s, self.catalog, table)
        if not existing:
            self._create_external(s, table, incoming, location, partitioned=day is not None)
            existing = self._columns(s, self.catalog, table)  # ours, or a parallel loader's
        added = self._plan(label, existing, incoming, request, day)
        if day is None and self._location(s, table) != location:
            # Master data moved (e.g. a transfer stage was added): re-point, metadata only;
            # readers see no table for the moment between the two statements.
            s.run(f"DROP TABLE {target}", what=f"re-pointing {label} at {location}")
            self._create_external(s, table, incoming, location, partitioned=False)
        else:
            self._add_columns(s, target, added, incoming)
        if day is None:
            self._call(s, "flush_metadata_cache", table)
            return tuple(added)
        self._register_day(s, table, day, folder)
        self._call(s, "flush_metadata_cache", table, day)
        return tuple(added)

    def _register_day(self, s: TrinoSession, table: str, day: str, folder: str) -> None:
        """Register partition ``day`` at ``folder`` unless it is registered already.

        A day always lives at its canonical ``dt=<day>/`` folder, whose single file the writer
        replaces atomically, so a rerun needs no metadata change at all: readers switch from
        the old file to the new one and never see the day empty. A register that loses a race
        with a parallel load of the same day counts as done.
        """
        if self._has_partition(s, table, day):
            return
        try:
            self._call(s, "register_partition", table, day, folder)
        except TrinoStatementError:
            if not self._has_partition(s, table, day):
                raise

    def _has_partition(self, s: TrinoSession, table: str, day: str) -> bool:
        rows = s.run(
            f'SELECT count(*) FROM {quote(self.catalog)}.{quote(self.schema)}.'
            f'{quote(table + "$partitions")} WHERE {_PARTITION} = ?', [day],
            what=f"looking up partition {day} of {self.display('external', table)}",
        )
        return bool(rows[0][0])

    def _create_external(self, s: TrinoSession, name: str, columns: Mapping[str, str],
                         location: str, *, partitioned: bool) -> None:
        target = self.qualified("external", name)
        cols = [f"{quote(c)} {t}" for c, t in columns.items()]
        props = ["format = 'PARQUET'", f"external_location = {literal(location)}"]
        if partitioned:
            cols.append(f"{_PARTITION} varchar")
            props.append(f"partitioned_by = {_PARTITION_LIST}")
        _create(s, f"CREATE TABLE IF NOT EXISTS {target} ({', '.join(cols)}) "
                   f"WITH ({', '.join(props)})",
                lambda: bool(self._columns(s, self.catalog, name)),
                what=f"creating external table {self.display('external', name)} over "
                     f"{location}")

    def _call(self, s: TrinoSession, procedure: str, table: str, day: str | None = None,
              location: str | None = None) -> None:
        """Hive ``system`` procedures; CALL takes no parameters, so values are literals."""
        args = [f"schema_name => {literal(self.schema)}", f"table_name => {literal(table)}"]
        if day is not None:
            args += [f"partition_columns => {_PARTITION_LIST}",
                     f"partition_values => ARRAY[{literal(day)}]"]
        if location is not None:
            args.append(f"location => {literal(location)}")
        s.run(f"CALL {quote(self.catalog)}.system.{procedure}({', '.join(args)})",
              what=f"{procedure} on {self.catalog}.{self.schema}.{table}"
                   + (f" [{day}]" if day else ""))

    def _location(self, s: TrinoSession, table: str) -> str | None:
        ddl = str(s.run(f"SHOW CREATE TABLE {self.qualified('external', table)}",
                        what=f"reading the location of {table}")[0][0])
        marker = "external_location = '"
        start = ddl.find(marker)
        if start < 0:
            return None
        value = ddl[start + len(marker):].split("'", 1)[0]
        return value if value.endswith("/") else value + "/"

    # --- iceberg ----------------------------------------------------------------------------

    def _load_iceberg(self, s: TrinoSession, request: LoadRequest, table: str, day: str | None,
                      folder: str) -> tuple[str, ...]:
        target, label = self.qualified("iceberg", table), self.display("iceberg", table)
        schema = request.data.schema
        incoming = column_types(schema, "iceberg", label)
        if MERGE_MARKER in incoming:
            raise WarehouseError(f"table {label}: column name {MERGE_MARKER!r} is reserved")
        self._ensure_schema(s, self.catalog)
        self._ensure_schema(s, self.iceberg_catalog)
        # One staging table per load, so parallel loads (even of one day) never share one.
        stage_name = f"{table}{STAGING_INFIX}{(day or 'latest').replace('-', '')}_{_token()}"
        stage, stage_label = (self.qualified("external", stage_name),
                              self.display("external", stage_name))
        drop_stage = f"DROP TABLE IF EXISTS {stage}"
        self._create_external(s, stage_name, column_types(schema, "hive", stage_label), folder,
                              partitioned=False)
        try:
            existing = self._columns(s, self.iceberg_catalog, table)
            select = ", ".join(
                f"{iceberg_expression(quote(f.name.lower()), f.type)} AS {quote(f.name.lower())}"
                for f in schema
            )
            if day is None:
                added = self._plan(label, existing, incoming, request, day) if existing else []
                s.run(f"CREATE OR REPLACE TABLE {target} WITH (format = 'PARQUET') AS "
                      f"SELECT {select} FROM {stage}",
                      what=f"replacing master table {label}")
                return tuple(added)
            if not existing:
                cols = ", ".join(f"{quote(c)} {t}" for c, t in incoming.items())
                _create(s, f"CREATE TABLE IF NOT EXISTS {target} ({cols}, {_PARTITION} date) "
                           f"WITH (format = 'PARQUET', partitioning = {_PARTITION_LIST})",
                        lambda: bool(self._columns(s, self.iceberg_catalog, table)),
                        what=f"creating Iceberg table {label}")
                existing = self._columns(s, self.iceberg_catalog, table)
            added = self._plan(label, existing, incoming, request, day)
            self._add_columns(s, target, added, incoming)
            replacing = self._count(s, "iceberg", table, day) > 0
            self._merge_day(s, target, stage, list(incoming), select, day)
            if replacing:
                self._compact_day(s, target, day)
            return tuple(added)
        finally:
            # Dropping an external table never deletes its files. One left behind by a killed
            # load is harmless metadata; never let dropping it hide the error that got us here.
            with contextlib.suppress(WarehouseError):
                s.run(drop_stage, what=f"dropping staging table {stage_label}")

    def _merge_day(self, s: TrinoSession, target: str, stage: str, columns: list[str],
                   select: str, day: str) -> None:
        """Replace one day in one commit (see the module docstring for why MERGE)."""
        marker = quote(MERGE_MARKER)
        nulls = ", ".join("NULL" for _ in columns)
        names = ", ".join(quote(c) for c in [*columns, PARTITION_COLUMN])
        values = ", ".join(f"s.{quote(c)}" for c in [*columns, PARTITION_COLUMN])
        sql = (
            f"MERGE INTO {target} AS t USING ("
            f"SELECT CAST(NULL AS date) AS {marker}, {select}, CAST(? AS date) AS {_PARTITION} "
            f"FROM {stage} "
            f"UNION ALL SELECT CAST(? AS date), {nulls}, NULL) AS s "
            f"ON t.{_PARTITION} = s.{marker} AND t.{_PARTITION} = CAST(? AS date) "
            f"WHEN MATCHED THEN DELETE "
            f"WHEN NOT MATCHED AND s.{marker} IS NULL THEN INSERT ({names}) VALUES ({values})"
        )
        for attempt in range(1, COMMIT_RETRIES + 1):
            try:
                s.run(sql, [day, day, day], what=f"replacing day {day} of {_plain(target)}")
                return
            except TrinoStatementError as e:
                # Parallel loads of the same day conflict on the Iceberg commit (different days
                # do not); the loser runs again on the winner's snapshot.
                if e.error_name != "ICEBERG_COMMIT_ERROR" or attempt == COMMIT_RETRIES:
                    raise
                time.sleep(attempt + random.random())

    def _compact_day(self, s: TrinoSession, target: str, day: str) -> None:
        """Rewrite a replaced day without its delete files, so reruns do not slow reads down.

        A second commit after the MERGE; readers see the same rows before and after it.
        Expiring old snapshots (``expire_snapshots``, at least 7 days by default) stays a
        periodic maintenance task of the warehouse's operators.
        """
        s.run(f"ALTER TABLE {target} EXECUTE optimize WHERE {_PARTITION} = DATE {literal(day)}",
              what=f"compacting day {day} of {_plain(target)}")

    # --- shared -----------------------------------------------------------------------------

    def _ensure_schema(self, s: TrinoSession, catalog: str) -> None:
        _create(s, f"CREATE SCHEMA IF NOT EXISTS {quote(catalog)}.{quote(self.schema)}",
                lambda: bool(s.run(
                    f"SELECT 1 FROM {quote(catalog)}.information_schema.schemata "
                    "WHERE schema_name = ?", [self.schema], what="checking the schema")),
                what=f"creating schema {catalog}.{self.schema}")

    def _columns(self, s: TrinoSession, catalog: str, table: str) -> dict[str, str]:
        rows = s.run(
            f"SELECT column_name, data_type FROM {quote(catalog)}.information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [self.schema, table], what=f"reading the columns of {catalog}.{self.schema}.{table}",
        )
        return {str(name): spelling(str(typ)) for name, typ in rows}

    def _plan(self, label: str, existing: Mapping[str, str], incoming: Mapping[str, str],
              request: LoadRequest, day: str | None) -> list[str]:
        _check_partitioning(label, existing, day)
        return plan_columns(label, _data_columns(existing), incoming, request.schema_drift)

    def _add_columns(self, s: TrinoSession, target: str, added: list[str],
                     types: Mapping[str, str]) -> None:
        for name in added:
            s.run(f"ALTER TABLE {target} ADD COLUMN {quote(name)} {types[name]}",
                  what=f"adding column {name} to {_plain(target)}")

    def _count(self, s: TrinoSession, mode: LoadMode, table: str, day: str | None) -> int:
        catalog = self.iceberg_catalog if mode == "iceberg" else self.catalog
        if not self._columns(s, catalog, table):
            return 0
        sql = f"SELECT count(*) FROM {self.qualified(mode, table)}"
        params: list[object] = []
        if day is not None:
            value = "CAST(? AS date)" if mode == "iceberg" else "?"
            sql += f" WHERE {_PARTITION} = {value}"
            params.append(day)
        return int(s.run(sql, params, what=f"counting rows of {self.display(mode, table)}")[0][0])


def _create(s: TrinoSession, sql: str, exists: Callable[[], bool], *, what: str) -> None:
    """``CREATE ... IF NOT EXISTS`` that also tolerates losing a race to a parallel load.

    Trino checks existence and then creates; when a parallel load creates the same schema or
    table in between, the Hive metastore answers ALREADY_EXISTS and the Iceberg JDBC catalog a
    GENERIC_INTERNAL_ERROR (duplicate key) despite the IF NOT EXISTS. So on any failure, the
    create counts as done when the object exists now.
    """
    try:
        s.run(sql, what=what)
    except TrinoStatementError:
        if not exists():
            raise


def _token() -> str:
    return uuid.uuid4().hex[:8]


def _plain(qualified: str) -> str:
    """A quoted name as people read it; names are validated, so no quote is ever doubled."""
    return qualified.replace('"', "")


def _day(partition_key: str | None) -> str | None:
    if partition_key is None:
        return None
    try:
        return dt.date.fromisoformat(partition_key).isoformat()
    except ValueError as e:
        raise WarehouseError(f"partition key {partition_key!r} is not a YYYY-MM-DD day") from e


def _s3_folder(request: LoadRequest, table: str) -> str:
    """The folder holding the request's file, as the ``s3://`` URI Hive needs."""
    if not (request.data_uri.startswith("s3://") and request.dataset_uri.startswith("s3://")):
        raise WarehouseError(
            f"table {table}: the lake is at {request.dataset_uri!r}, but Trino reads Parquet "
            "only from S3 (Hive tables need s3:// locations); set the tenant's storage.root to "
            "s3://<bucket>/<prefix> to load into Trino, or use warehouse type duckdb"
        )
    return request.data_uri.rsplit("/", 1)[0] + "/"


def _data_columns(existing: Mapping[str, str]) -> dict[str, str]:
    return {c: t for c, t in existing.items() if c != PARTITION_COLUMN}


def _check_partitioning(target: str, existing: Mapping[str, str], day: str | None) -> None:
    if (PARTITION_COLUMN in existing) != (day is not None):
        have = "partitioned by dt" if PARTITION_COLUMN in existing else "unpartitioned"
        want = "a daily pipeline" if day else "master data"
        raise WarehouseError(
            f"table {target} is {have} but the load is for {want}; drop the table (or rename "
            "the pipeline) to change a pipeline between daily and master data"
        )

