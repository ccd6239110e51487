"""One tenant's DuckDB file, as the loader and the incremental merge both open it.

Both write the same file under the same rules: one writer per file (threads take turns here,
processes wait on DuckDB's file lock), the file must be itself and not a link, statements are
counted for the stage's metadata, and tables loaded before the shared types are widened in place.
Kept apart from :mod:`etl.warehouse.duckdb_loader` so the merge does not import the loader, nor
the loader the merge.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from etl.utils.sql import literal, quote
from etl.warehouse.base import WarehouseError
from etl.warehouse.duckdb_types import UPGRADES

LOCK_WAIT_S = 300.0
# Rows a write deletes in place before it rebuilds the table instead (:meth:`DuckDBFile.clear`).
IN_PLACE_DELETE_MAX_ROWS = 1_000_000
REBUILD_SUFFIX = "__etl_rebuilt"
# DuckDB has one writer per file: loads from threads of one process take turns here, other
# processes wait on DuckDB's own file lock in ``connect``.
_WRITERS: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_WRITERS_GUARD = threading.Lock()


def writer_lock(path: str) -> threading.Lock:
    with _WRITERS_GUARD:
        return _WRITERS[path]


class Counted:
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

    def count(self, sql: str) -> int:
        row = self(sql).fetchone()
        return int(row[0]) if row else 0


def upgrade(run: Counted, target: str, existing: dict[str, str],
            incoming: dict[str, str]) -> None:
    """Widen columns of tables loaded before the shared types (SMALLINT, text uuids) in place."""
    for name, new in incoming.items():
        old = existing.get(name)
        if old is not None and old != new and (
                (old, new) in UPGRADES or ((old.removesuffix("[]"), new.removesuffix("[]"))
                in UPGRADES and old.endswith("[]") and new.endswith("[]"))):
            run(f"ALTER TABLE {target} ALTER COLUMN {quote(name)} TYPE {new}")
            existing[name] = new


def keep_required(run: Counted, target: str, existing: set[str], required: set[str],
                  incoming: dict[str, str]) -> None:
    """The table's NOT NULL columns follow the source's: a column the source let hold NULL
    since the table was made does here too (new tables declare them when created)."""
    for name in existing - required:
        if name in incoming:
            run(f"ALTER TABLE {target} ALTER COLUMN {quote(name)} DROP NOT NULL")


class DuckDBFile:
    """A schema of a DuckDB file: where it is, how it is opened, what its tables hold."""

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
        for beside in (Path(self.path + ".wal"), Path(self.path + ".tmp")):
            # DuckDB writes its log and spills next to the file, following links: one put
            # there would have it overwrite what the link leads to.
            if beside.is_symlink():
                raise WarehouseError(
                    f"{beside}, where DuckDB writes beside the warehouse file {self.given}, is a "
                    f"symbolic link (to {beside.resolve()}); DuckDB would write through it: "
                    "remove the link")
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

    def writing(self, con: duckdb.DuckDBPyConnection, default_limit: str) -> Counted:
        """The connection set up for a write: the file's memory limit (the write's own default
        unless one is configured), no row order kept."""
        con.execute(f"SET memory_limit = {literal(self.memory_limit or default_limit)}")
        con.execute("SET preserve_insertion_order = false")  # a table keeps no row order
        return Counted(con)

    def failure(self, error: duckdb.Error, default_limit: str) -> str:
        """DuckDB's message; running out of memory names the setting a tenant owns instead of
        DuckDB's own advice (``SET memory_limit``, which no config can run)."""
        if not isinstance(error, duckdb.OutOfMemoryException):
            return str(error)
        first = str(error).strip().splitlines()[0]
        return (f"{first}; this write ran under {self.memory_limit or default_limit}: raise "
                "warehouse.memory_limit in the tenant's config.yaml (e.g. '512MB' or '2GB')")

    def qualified(self, run: Counted, table: str) -> str:
        return f"{quote(run.catalog)}.{quote(self.schema)}.{quote(table)}"

    def columns(self, run: Counted, table: str) -> dict[str, str]:
        rows = run(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [run.catalog, self.schema, table],
        ).fetchall()
        return {str(name): str(typ) for name, typ in rows}

    def clear(self, run: Counted, table: str, where: str | None) -> None:
        """Remove the rows a write replaces (those ``where`` holds for; None: every row), in the
        write's transaction.

        DuckDB keeps a transaction's deleted rows in memory until it commits, beside the rows it
        inserts: replacing the 2,527 days of the TPC-H bench's lineitem (6M rows) ran out of
        the load's 64MB, and so did a DELETE of 2.5M rows then an INSERT of 5M, where 2M
        deleted loaded (ad hoc). Past :data:`IN_PLACE_DELETE_MAX_ROWS` the table is rebuilt
        instead: a new table with the same columns and NOT NULL constraints (the only ones a
        warehouse table has) gets the rows kept, then replaces the old one. Readers see the
        old table or the new one, never a missing one: DuckDB's DDL is transactional.
        """
        target = self.qualified(run, table)
        condition = f" WHERE {where}" if where is not None else ""
        if run.count(f"SELECT count(*) FROM {target}{condition}") <= IN_PLACE_DELETE_MAX_ROWS:
            run(f"DELETE FROM {target}{condition}")
            return
        rebuilt = self.qualified(run, table + REBUILD_SUFFIX)
        run(f"CREATE TABLE {rebuilt} AS SELECT * FROM {target} LIMIT 0")
        for name in sorted(self.required(run, table)):
            run(f"ALTER TABLE {rebuilt} ALTER COLUMN {quote(name)} SET NOT NULL")
        if where is not None:  # the rows kept; NULL is not true, as for the DELETE
            run(f"INSERT INTO {rebuilt} SELECT * FROM {target} WHERE ({where}) IS NOT TRUE")
        run(f"DROP TABLE {target}")
        run(f"ALTER TABLE {rebuilt} RENAME TO {quote(table)}")

    def required(self, run: Counted, table: str) -> set[str]:
        """The table's NOT NULL columns."""
        rows = run(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND "
            "table_schema = ? AND table_name = ? AND is_nullable = 'NO'",
            [run.catalog, self.schema, table],
        ).fetchall()
        return {str(name) for (name,) in rows}
