"""``external`` mode: a Hive table over the stage's Parquet folder, and a view users query.

The raw table ``<table>__raw`` points at the pipeline stage's folder and is partitioned by the
day column (last, a ``date``), each day at its canonical ``<column>=<day>/`` folder. A load
registers every new day folder with one ``sync_partition_metadata(..., 'ADD')``, however many
days it brings; a day already registered needs no change at all, because the writer replaces
its single file atomically: readers see the old file or the new one, never an empty or partial
day. Master data is an unpartitioned raw table over ``latest/``, whose file is swapped the same
way.

The view ``<table>`` gives every column the type it has in Iceberg mode and in DuckDB
(:mod:`.types`: ``time(6)``, ``timestamp(6) with time zone``, ``uuid``), which the Hive
connector cannot declare over Parquet; it is replaced only when its columns change. A table of
an earlier version (a Hive table under the user-facing name, its day a ``varchar``) is turned
into this layout on its next load, by metadata alone: dropping an external table keeps its
files, and the new raw table registers the same day folders.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Final

import pyarrow as pa

from etl import naming
from etl.utils.logical_types import is_uuid
from etl.utils.sql import literal, quote
from etl.warehouse.base import LoadRequest, SchemaDriftError
from etl.warehouse.trino.catalog import TrinoTarget, create, s3_folder
from etl.warehouse.trino.session import TrinoSession, TrinoStatementError
from etl.warehouse.trino.types import column_types, user_expression

MODE: Final = "external"
SYNC_RETRIES: Final = 5
RACING_METASTORE_ERRORS: Final = frozenset({"HIVE_METASTORE_ERROR", "ALREADY_EXISTS"})


def load_external(s: TrinoSession, target: TrinoTarget, request: LoadRequest) -> tuple[str, ...]:
    table, raw = request.table, naming.raw_table(request.table)
    label = target.display(MODE, table)
    incoming = column_types(request.schema, "raw", label)
    daily = request.days is not None
    location = s3_folder(request.dataset_uri if daily else request.folder(None), label)
    target.ensure_schema(s, MODE)
    if relation_kind(s, target, table) == "BASE TABLE":
        _retire_table(s, target, table, incoming, request)
    existing = target.columns(s, MODE, raw)
    if not existing:
        create_external(s, target, raw, incoming, location, request.partition_column, daily)
        existing = target.columns(s, MODE, raw)  # ours, or a parallel loader's
    added = target.plan(label, existing, incoming, request)
    if not daily and _location(s, target, raw) != location:
        # Master data moved (e.g. a transfer stage was added): re-point, metadata only;
        # readers of the view see no table for the moment between the two statements.
        s.run(f"DROP TABLE {target.qualified(MODE, raw)}",
              what=f"re-pointing {target.display(MODE, raw)} at {location}")
        create_external(s, target, raw, incoming, location, request.partition_column, False)
    else:
        target.add_columns(s, MODE, raw, added, incoming)
    if daily:
        _register_new_days(s, target, raw)
    order = [c for c in existing if c != request.partition_column] + list(added)
    _ensure_view(s, target, request, order)
    call(s, target, "flush_metadata_cache", raw)
    return tuple(added)


def relation_kind(s: TrinoSession, target: TrinoTarget, table: str) -> str | None:
    """``BASE TABLE``, ``VIEW``, or None when nothing has that name."""
    rows = s.run(
        f"SELECT table_type FROM {quote(target.catalog)}.information_schema.tables "
        "WHERE table_schema = ? AND table_name = ?", [target.schema, table],
        what=f"looking up {target.display(MODE, table)}")
    return str(rows[0][0]) if rows else None


def _retire_table(s: TrinoSession, target: TrinoTarget, table: str,
                  incoming: Mapping[str, str], request: LoadRequest) -> None:
    """Drop an earlier version's table (its files stay) so the view can take its name."""
    label = target.display(MODE, table)
    old = [c for c in target.columns(s, MODE, table) if c != request.partition_column]
    dropped = [c for c in old if c not in incoming]
    if dropped:  # the same refusal the raw table would give: readers would lose columns
        raise SchemaDriftError(
            f"table {label}: column(s) {dropped} exist in the table but not in the new data; "
            "restore them in the source query or migrate the table by hand"
        )
    try:
        s.run(f"DROP TABLE {target.qualified(MODE, table)}",
              what=f"replacing the table {label} of an earlier version by a view")
    except TrinoStatementError:
        if relation_kind(s, target, table) == "BASE TABLE":  # not a parallel load's doing
            raise


def _ensure_view(s: TrinoSession, target: TrinoTarget, request: LoadRequest,
                 order: list[str]) -> None:
    """``<table>`` as a view over the raw table, replaced only when its columns change."""
    fields = {f.name.lower(): f for f in request.schema}
    part = request.partition_column
    wanted = {c: _user_type(fields[c], label=request.table) for c in order}
    if request.days is not None:
        wanted[part] = "date"
    if target.columns(s, MODE, request.table) == wanted:
        return
    select = [f"{user_expression(quote(c), fields[c].type, is_uuid(fields[c]))} AS {quote(c)}"
              for c in order]
    if request.days is not None:
        select.append(quote(part))
    view = target.qualified(MODE, request.table)
    raw = target.qualified(MODE, naming.raw_table(request.table))
    try:
        s.run(f"CREATE OR REPLACE VIEW {view} AS SELECT {', '.join(select)} FROM {raw}",
              what=f"creating the view {target.display(MODE, request.table)}")
    except TrinoStatementError:
        if target.columns(s, MODE, request.table) != wanted:  # a parallel load made it
            raise


def _user_type(field: pa.Field, label: str) -> str:
    return column_types(pa.schema([field]), "user", label)[field.name.lower()]


def _register_new_days(s: TrinoSession, target: TrinoTarget, table: str) -> None:
    """One call registers every day folder not registered yet, however many there are.

    Parallel loads of one table race in the metastore while both add partitions; adding is
    idempotent, so the loser simply runs it again on what the winner registered.
    """
    for attempt in range(1, SYNC_RETRIES + 1):
        try:
            call(s, target, "sync_partition_metadata", table, "mode => 'ADD'")
            return
        except TrinoStatementError as e:
            if e.error_name not in RACING_METASTORE_ERRORS or attempt == SYNC_RETRIES:
                raise
            time.sleep(attempt * 0.5 + random.random())


def create_external(s: TrinoSession, target: TrinoTarget, table: str,
                    columns: Mapping[str, str], location: str, partition_column: str,
                    partitioned: bool) -> None:
    cols = [f"{quote(c)} {t}" for c, t in columns.items()]
    props = ["format = 'PARQUET'", f"external_location = {literal(location)}"]
    if partitioned:
        cols.append(f"{quote(partition_column)} date")
        props.append(f"partitioned_by = ARRAY[{literal(partition_column)}]")
    create(s, f"CREATE TABLE IF NOT EXISTS {target.qualified(MODE, table)} ({', '.join(cols)}) "
              f"WITH ({', '.join(props)})",
           lambda: bool(target.columns(s, MODE, table)),
           what=f"creating external table {target.display(MODE, table)} over {location}")


def call(s: TrinoSession, target: TrinoTarget, procedure: str, table: str, *extra: str) -> None:
    """A Hive ``system`` procedure; CALL takes no parameters, so values are literals."""
    args = [f"schema_name => {literal(target.schema)}", f"table_name => {literal(table)}", *extra]
    s.run(f"CALL {quote(target.catalog)}.system.{procedure}({', '.join(args)})",
          what=f"{procedure} on {target.display(MODE, table)}")


def _location(s: TrinoSession, target: TrinoTarget, table: str) -> str | None:
    ddl = str(s.run(f"SHOW CREATE TABLE {target.qualified(MODE, table)}",
                    what=f"reading the location of {table}")[0][0])
    marker = "external_location = '"
    start = ddl.find(marker)
    if start < 0:
        return None
    value = ddl[start + len(marker):].split("'", 1)[0]
    return value if value.endswith("/") else value + "/"

