"""Incremental merges into an Iceberg table: one ``MERGE`` by key per run.

The change file (and the source's keys, when a run looks for deletes) is read through a Hive
staging table of this merge only, over its folder. Rows gone from the source are deleted, or get
``deleted_at``, by a first ``MERGE`` whose source is the table's keys missing from the key read;
then one ``MERGE`` updates the rows whose key is among the changes and inserts the others. A
full merge (first run, full refresh) is ``CREATE OR REPLACE TABLE ... AS``: one snapshot.
Delete files accumulate with the merges; compacting (``optimize``) is the warehouse's
maintenance, as is expiring snapshots.
"""

from __future__ import annotations

import contextlib
from typing import Final

from etl.naming import DELETED_AT_COLUMN
from etl.utils.sql import literal, quote
from etl.warehouse.base import LakeFile, MergeRequest, MergeResult, WarehouseError, merge_columns
from etl.warehouse.trino.catalog import TrinoTarget, create, s3_folder, token
from etl.warehouse.trino.session import TrinoSession, TrinoStatementError
from etl.warehouse.trino.types import column_types, user_columns

MODE: Final = "iceberg"
INSTANT: Final = "timestamp(6) with time zone"


def merge_iceberg(s: TrinoSession, target: TrinoTarget, request: MergeRequest) -> MergeResult:
    table = request.table
    label = target.display(MODE, table)
    incoming = column_types(request.rows.schema, "user", label)
    existing = target.columns(s, MODE, table)
    if not existing:  # after the first merge both schemas exist: two statements fewer a run
        target.ensure_schema(s, MODE)
        target.ensure_schema(s, "external")
    rows = _stage(s, target, f"{table}__changes_{token()}", request.rows)
    keys = (_stage(s, target, f"{table}__keys_{token()}", request.keys)
            if request.keys is not None and not request.full else None)
    try:
        select = ", ".join(user_columns(request.rows.schema))
        soft = request.deletes == "soft"
        added = merge_columns(label, existing, incoming, request) if existing else []
        marker = f", CAST(NULL AS {INSTANT}) AS {quote(DELETED_AT_COLUMN)}" if soft else ""
        if request.full or not existing:
            s.run(f"CREATE OR REPLACE TABLE {target.qualified(MODE, table)} WITH (format = "
                  f"'PARQUET') AS SELECT {select}{marker} FROM {rows}",
                  what=f"replacing {label}")
            return _result(s, target, request, rows, 0, tuple(added))
        target.add_columns(s, MODE, table, added, incoming)
        if soft and DELETED_AT_COLUMN not in existing:
            target.add_columns(s, MODE, table, [DELETED_AT_COLUMN], {DELETED_AT_COLUMN: INSTANT})
        deleted = _deletes(s, target, request, keys) if keys is not None else 0
        names = list(incoming)
        on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in request.key)
        sets = [f"{quote(c)} = s.{quote(c)}" for c in names if c not in request.key]
        if soft:
            sets.append(f"{quote(DELETED_AT_COLUMN)} = NULL")
        update = f"WHEN MATCHED THEN UPDATE SET {', '.join(sets)} " if sets else ""
        s.run(f"MERGE INTO {target.qualified(MODE, table)} AS t USING (SELECT {select} FROM "
              f"{rows}) AS s ON {on} {update}WHEN NOT MATCHED THEN INSERT "
              f"({', '.join(quote(c) for c in names)}) "
              f"VALUES ({', '.join(f's.{quote(c)}' for c in names)})",
              what=f"merging the changed rows into {label}")
        return _result(s, target, request, rows, deleted, tuple(added))
    finally:
        for stage in (rows, keys):
            if stage is not None:  # an external table's drop never deletes its files
                with contextlib.suppress(WarehouseError):
                    s.run(f"DROP TABLE IF EXISTS {stage}", what=f"dropping {stage}")


def _stage(s: TrinoSession, target: TrinoTarget, name: str, file: LakeFile) -> str:
    """A Hive table over one run's file (its folder), in the external catalog."""
    label = target.display("external", name)
    cols = ", ".join(f"{quote(c)} {t}" for c, t in column_types(file.schema, "raw",
                                                                   label).items())
    location = s3_folder(file.folder_uri, label)
    sql = (f"CREATE TABLE {target.qualified('external', name)} ({cols}) WITH (format = "
           f"'PARQUET', external_location = {literal(location)})")
    try:
        s.run(sql, what=f"creating {label}")
    except TrinoStatementError as e:
        if e.error_name != "SCHEMA_NOT_FOUND":
            raise
        target.ensure_schema(s, "external")  # dropped since the first merge
        create(s, sql, lambda: bool(target.columns(s, "external", name)),
               what=f"creating {label}")
    return target.qualified("external", name)


def _deletes(s: TrinoSession, target: TrinoTarget, request: MergeRequest, keys: str) -> int:
    """Delete (or mark) the table's rows whose key the source no longer has."""
    table = target.qualified(MODE, request.table)
    key = [quote(k) for k in request.key]
    join = " AND ".join(f"k.{c} = t.{c}" for c in key)
    gone = (f"SELECT {', '.join(f't.{c}' for c in key)} FROM {table} t LEFT JOIN {keys} k "
            f"ON {join} WHERE k.{key[0]} IS NULL")
    if request.deletes == "soft":
        gone += f" AND t.{quote(DELETED_AT_COLUMN)} IS NULL"
    found = s.run(f"SELECT count(*) FROM ({gone})", what="counting rows gone from the source")
    count = int(found[0][0])
    if not count:
        return 0
    on = " AND ".join(f"t.{c} = d.{c}" for c in key)
    action = ("DELETE" if request.deletes == "hard" else
              f"UPDATE SET {quote(DELETED_AT_COLUMN)} = current_timestamp")
    s.run(f"MERGE INTO {table} AS t USING ({gone}) AS d ON {on} WHEN MATCHED THEN {action}",
          what=f"{'deleting' if request.deletes == 'hard' else 'marking'} rows gone from the "
               f"source in {target.display(MODE, request.table)}")
    return count


def _result(s: TrinoSession, target: TrinoTarget, request: MergeRequest, rows: str,
            deleted: int, added: tuple[str, ...]) -> MergeResult:
    table = target.qualified(MODE, request.table)
    on = " AND ".join(f"t.{quote(k)} = r.{quote(k)}" for k in request.key)
    found = s.run(f"SELECT (SELECT count(*) FROM {table}), (SELECT count(*) FROM {table} t "
                  f"WHERE EXISTS (SELECT 1 FROM {rows} r WHERE {on}))",
                  what=f"counting rows of {target.display(MODE, request.table)}")
    return MergeResult(table=target.display(MODE, request.table), rows=int(found[0][0]),
                       merged=int(found[0][1]), deleted=deleted, added_columns=added,
                       statements=s.statements)
