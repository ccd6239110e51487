"""``iceberg`` mode: the days' Parquet copied into an Iceberg table partitioned by ``date``.

The files are read through a Hive staging table of this load only, over the stage's folder,
with partition projection over exactly the load's days (so nothing is registered); its raw
column types become the user types of the external view (:mod:`.types`: ``time(6)``,
``timestamp(6) with time zone``, ``uuid``, ...) in the statement's ``SELECT``. Trino cannot
replace an Iceberg partition atomically (``DELETE`` + ``INSERT`` are two commits,
trino#11602, and Iceberg has no insert-overwrite), so one ``MERGE`` does both for all the
load's days: its source is the new rows plus one marker row per day whose day matches every
old row of that day; matched old rows are deleted, unmatched new rows inserted, in one Iceberg
snapshot. Readers see the old days or the new ones, a rerun never duplicates, and other days
are not touched. A day in the load without rows (an empty file) ends empty.

Trino caps the partitions one statement writes (``iceberg.max-partitions-per-writer``, 100 by
default), so a load of more days runs one MERGE per that many days. Old rows are removed with
position-delete files, so replaced days are then compacted (``optimize``); expiring snapshots
is left to the warehouse's maintenance. Master data uses ``CREATE OR REPLACE TABLE ... AS``,
one atomic snapshot of the same table (history kept).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
from collections.abc import Sequence
from typing import Final

from etl.utils.sql import literal, quote
from etl.warehouse.base import LoadRequest, WarehouseError, required_columns
from etl.warehouse.trino.catalog import TrinoTarget, checked_days, create, s3_folder, token
from etl.warehouse.trino.session import TrinoSession, TrinoStatementError
from etl.warehouse.trino.types import column_types, user_columns

MODE: Final = "iceberg"
STAGING_INFIX: Final = "__staging_"
MERGE_MARKER: Final = "__etl_replace_day"
COMMIT_RETRIES: Final = 5
DEFAULT_WRITER_PARTITIONS: Final = 100


def load_iceberg(s: TrinoSession, target: TrinoTarget, request: LoadRequest) -> tuple[str, ...]:
    table = request.table
    label = target.display(MODE, table)
    incoming = column_types(request.schema, "user", label)
    if MERGE_MARKER in incoming:
        raise WarehouseError(f"table {label}: column name {MERGE_MARKER!r} is reserved")
    target.ensure_schema(s, "external")
    target.ensure_schema(s, MODE)
    # One staging table per load, so parallel loads (even of one day) never share one.
    stage = f"{table}{STAGING_INFIX}{token()}"
    _create_stage(s, target, stage, request)
    try:
        existing = target.columns(s, MODE, table)
        select = ", ".join(user_columns(request.schema))
        if request.days is None:
            added = target.plan(label, existing, incoming, request) if existing else []
            s.run(f"CREATE OR REPLACE TABLE {target.qualified(MODE, table)} "
                  f"WITH (format = 'PARQUET') AS SELECT {select} "
                  f"FROM {target.qualified('external', stage)}",
                  what=f"replacing master table {label}")
            return tuple(added)
        part = quote(request.partition_column)
        required = {c.lower() for c in required_columns(request)}
        if not existing:
            cols = ", ".join(f"{quote(c)} {t}{' NOT NULL' if c in required else ''}"
                             for c, t in incoming.items())
            create(s, f"CREATE TABLE IF NOT EXISTS {target.qualified(MODE, table)} ({cols}, "
                      f"{part} date NOT NULL) WITH (format = 'PARQUET', "
                      f"partitioning = ARRAY[{literal(request.partition_column)}])",
                   lambda: bool(target.columns(s, MODE, table)),
                   what=f"creating Iceberg table {label}")
            existing = target.columns(s, MODE, table)
        else:  # the source dropped a column's NOT NULL: so does the table
            for name in (target.required(s, MODE, table) & set(incoming)) - required:
                # Unquoted: Trino 476 looks a quoted name up with its quotes here; the name is
                # already a plain lower-case one (types.COLUMN_RE).
                s.run(f"ALTER TABLE {target.qualified(MODE, table)} ALTER COLUMN {name} "
                      "DROP NOT NULL", what=f"letting {label}.{name} hold NULL")
        added = target.plan(label, existing, incoming, request)
        target.add_columns(s, MODE, table, added, incoming)
        days = checked_days(request.days)
        replacing = _has_rows(s, target, table, part, days)
        chunks = _chunks(days, _writer_partitions(s, target))
        for chunk in chunks:
            _merge_days(s, target, table, stage, list(incoming), select, part, chunk)
        if replacing:
            for chunk in chunks:
                _compact(s, target, table, part, chunk)
        return tuple(added)
    finally:
        # Dropping an external table never deletes its files. One left behind by a killed
        # load is harmless metadata; never let dropping it hide the error that got us here.
        with contextlib.suppress(WarehouseError):
            s.run(f"DROP TABLE IF EXISTS {target.qualified('external', stage)}",
                  what=f"dropping staging table {target.display('external', stage)}")


def _create_stage(s: TrinoSession, target: TrinoTarget, stage: str,
                  request: LoadRequest) -> None:
    """A Hive table over the load's files: the master file, or the days by projection."""
    label = target.display("external", stage)
    cols = [f"{quote(c)} {t}" for c, t in column_types(request.schema, "raw", label).items()]
    props = ["format = 'PARQUET'"]
    if request.days is None:
        props.append(f"external_location = {literal(s3_folder(request.folder(None), label))}")
    else:
        days = checked_days(request.days)
        root = s3_folder(request.dataset_uri, label)
        column = request.partition_column
        # The range must be increasing; the day after is only projected, never selected.
        after = (dt.date.fromisoformat(max(days)) + dt.timedelta(days=1)).isoformat()
        cols.append(
            f"{quote(column)} varchar WITH (partition_projection_type = 'DATE', "
            "partition_projection_format = 'yyyy-MM-dd', "
            f"partition_projection_range = ARRAY[{literal(min(days))}, {literal(after)}], "
            "partition_projection_interval = 1, partition_projection_interval_unit = 'DAYS')"
        )
        props += [f"external_location = {literal(root)}",
                  f"partitioned_by = ARRAY[{literal(column)}]",
                  "partition_projection_enabled = true",
                  f"partition_projection_location_template = {literal(root + column)}"
                  f" || '=${{{column}}}/'"]
    s.run(f"CREATE TABLE {target.qualified('external', stage)} ({', '.join(cols)}) "
          f"WITH ({', '.join(props)})", what=f"creating staging table {label}")


def _dates(days: Sequence[str]) -> str:
    return ", ".join(f"DATE {literal(d)}" for d in days)


def _has_rows(s: TrinoSession, target: TrinoTarget, table: str, part: str,
              days: Sequence[str]) -> bool:
    rows = s.run(f"SELECT count(*) FROM {target.qualified(MODE, table)} "
                 f"WHERE {part} IN ({_dates(days)})",
                 what=f"looking for old rows of {target.display(MODE, table)}")
    return bool(rows[0][0])


def _writer_partitions(s: TrinoSession, target: TrinoTarget) -> int:
    """How many partitions one statement may write (the catalog's writer limit)."""
    name = f"{target.iceberg_catalog}.max_partitions_per_writer"
    rows = s.run(f"SHOW SESSION LIKE {literal(name)}",
                 what="reading Iceberg's partitions-per-writer limit")
    try:
        return max(1, int(rows[0][1]))
    except (IndexError, ValueError):
        return DEFAULT_WRITER_PARTITIONS


def _chunks(days: list[str], size: int) -> list[list[str]]:
    return [days[i:i + size] for i in range(0, len(days), size)]


def _merge_days(s: TrinoSession, target: TrinoTarget, table: str, stage: str,
                columns: list[str], select: str, part: str, days: Sequence[str]) -> None:
    """Replace ``days`` in one commit (see the module docstring for why MERGE)."""
    marker = quote(MERGE_MARKER)
    nulls = ", ".join("NULL" for _ in columns)
    names = ", ".join(quote(c) for c in columns) + f", {part}"
    values = ", ".join(f"s.{quote(c)}" for c in columns) + f", s.{part}"
    day_list = ", ".join(literal(d) for d in days)
    sql = (
        f"MERGE INTO {target.qualified(MODE, table)} AS t USING ("
        f"SELECT CAST(NULL AS date) AS {marker}, {select}, CAST({part} AS date) AS {part} "
        f"FROM {target.qualified('external', stage)} WHERE {part} IN ({day_list}) "
        f"UNION ALL SELECT d, {nulls}, NULL FROM UNNEST(ARRAY[{_dates(days)}]) AS x(d)) AS s "
        f"ON t.{part} = s.{marker} AND t.{part} IN ({_dates(days)}) "
        f"WHEN MATCHED THEN DELETE "
        f"WHEN NOT MATCHED AND s.{marker} IS NULL THEN INSERT ({names}) VALUES ({values})"
    )
    what = f"replacing {_span(days)} of {target.display(MODE, table)}"
    for attempt in range(1, COMMIT_RETRIES + 1):
        try:
            s.run(sql, what=what)
            return
        except TrinoStatementError as e:
            # Parallel loads of the same day conflict on the Iceberg commit (different days
            # do not); the loser runs again on the winner's snapshot.
            if e.error_name != "ICEBERG_COMMIT_ERROR" or attempt == COMMIT_RETRIES:
                raise
            time.sleep(attempt + random.random())


def _compact(s: TrinoSession, target: TrinoTarget, table: str, part: str,
             days: Sequence[str]) -> None:
    """Rewrite replaced days without their delete files, so reruns do not slow reads down.

    A second commit after the MERGE; readers see the same rows before and after it.
    """
    s.run(f"ALTER TABLE {target.qualified(MODE, table)} EXECUTE optimize "
          f"WHERE {part} IN ({_dates(days)})",
          what=f"compacting {_span(days)} of {target.display(MODE, table)}")


def _span(days: Sequence[str]) -> str:
    return f"day {days[0]}" if len(days) == 1 else f"days {days[0]}..{days[-1]}"
