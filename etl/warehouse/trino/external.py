"""``external`` mode: a Hive external table over the stage's Parquet folder (zero copy).

The table points at the pipeline stage's folder and is partitioned by the day column (last),
each day at its canonical ``<column>=<day>/`` folder. A load registers every new day folder
with one ``sync_partition_metadata(..., 'ADD')``, however many days it brings; a day already
registered needs no change at all, because the writer replaces its single file atomically:
readers see the old file or the new one, never an empty or partial day. Master data is an
unpartitioned table over ``latest/``, whose file is swapped the same way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Final

from etl.utils.sql import literal, quote
from etl.warehouse.base import LoadRequest
from etl.warehouse.trino.catalog import TrinoTarget, create, s3_folder
from etl.warehouse.trino.session import TrinoSession, TrinoStatementError
from etl.warehouse.trino.types import column_types

MODE: Final = "external"
SYNC_RETRIES: Final = 5
RACING_METASTORE_ERRORS: Final = frozenset({"HIVE_METASTORE_ERROR", "ALREADY_EXISTS"})


def load_external(s: TrinoSession, target: TrinoTarget, request: LoadRequest) -> tuple[str, ...]:
    table = request.table
    label = target.display(MODE, table)
    incoming = column_types(request.schema, "hive", label)
    daily = request.days is not None
    location = s3_folder(request.dataset_uri if daily else request.folder(None), label)
    target.ensure_schema(s, MODE)
    existing = target.columns(s, MODE, table)
    if not existing:
        create_external(s, target, table, incoming, location, request.partition_column, daily)
        existing = target.columns(s, MODE, table)  # ours, or a parallel loader's
    added = target.plan(label, existing, incoming, request)
    if not daily and _location(s, target, table) != location:
        # Master data moved (e.g. a transfer stage was added): re-point, metadata only;
        # readers see no table for the moment between the two statements.
        s.run(f"DROP TABLE {target.qualified(MODE, table)}",
              what=f"re-pointing {label} at {location}")
        create_external(s, target, table, incoming, location, request.partition_column, False)
    else:
        target.add_columns(s, MODE, table, added, incoming)
    if daily:
        _register_new_days(s, target, table)
    call(s, target, "flush_metadata_cache", table)
    return tuple(added)


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
        cols.append(f"{quote(partition_column)} varchar")
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
