"""What both Trino load modes share: names, schemas, columns, counting, racing creates."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from etl import naming
from etl.utils.sql import literal, quote
from etl.warehouse.base import LoadMode, LoadRequest, WarehouseError, plan_columns
from etl.warehouse.trino.session import TrinoSession, TrinoStatementError
from etl.warehouse.trino.types import spelling


@dataclass(frozen=True)
class TrinoTarget:
    """The catalogs and schema one tenant's tables live in."""

    catalog: str  # Hive: external tables and staging tables
    iceberg_catalog: str
    schema: str

    def catalog_for(self, mode: LoadMode) -> str:
        return self.iceberg_catalog if mode == "iceberg" else self.catalog

    def qualified(self, mode: LoadMode, table: str) -> str:
        return f"{quote(self.catalog_for(mode))}.{quote(self.schema)}.{quote(table)}"

    def display(self, mode: LoadMode, table: str) -> str:
        return f"{self.catalog_for(mode)}.{self.schema}.{table}"

    def ensure_schema(self, s: TrinoSession, mode: LoadMode) -> None:
        catalog = self.catalog_for(mode)
        create(s, f"CREATE SCHEMA IF NOT EXISTS {quote(catalog)}.{quote(self.schema)}",
               lambda: bool(s.run(
                   f"SELECT 1 FROM {quote(catalog)}.information_schema.schemata "
                   "WHERE schema_name = ?", [self.schema], what="checking the schema")),
               what=f"creating schema {catalog}.{self.schema}")

    def columns(self, s: TrinoSession, mode: LoadMode, table: str) -> dict[str, str]:
        catalog = self.catalog_for(mode)
        rows = s.run(
            f"SELECT column_name, data_type FROM {quote(catalog)}.information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [self.schema, table], what=f"reading the columns of {catalog}.{self.schema}.{table}",
        )
        return {str(name): spelling(str(typ)) for name, typ in rows}

    def required(self, s: TrinoSession, mode: LoadMode, table: str) -> set[str]:
        """The table's NOT NULL columns."""
        catalog = self.catalog_for(mode)
        rows = s.run(
            f"SELECT column_name FROM {quote(catalog)}.information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? AND is_nullable = 'NO'",
            [self.schema, table], what=f"reading the NOT NULL columns of {table}",
        )
        return {str(name) for (name,) in rows}

    def plan(self, label: str, existing: Mapping[str, str], incoming: Mapping[str, str],
             request: LoadRequest) -> list[str]:
        """Columns to add, after checking the table's partitioning fits the load."""
        part = request.partition_column
        if (part in existing) != (request.days is not None):
            have = f"partitioned by {part}" if part in existing else "unpartitioned"
            want = "a daily pipeline" if request.days is not None else "master data"
            raise WarehouseError(
                f"table {label} is {have} but the load is for {want}; drop the table (or rename "
                "the pipeline) to change a pipeline between daily and master data"
            )
        data = {c: t for c, t in existing.items() if c != part}
        return plan_columns(label, data, incoming, request.schema_drift, part)

    def add_columns(self, s: TrinoSession, mode: LoadMode, table: str, added: Sequence[str],
                    types: Mapping[str, str]) -> None:
        for name in added:
            s.run(f"ALTER TABLE {self.qualified(mode, table)} ADD COLUMN {quote(name)} "
                  f"{types[name]}", what=f"adding column {name} to {self.display(mode, table)}")

    def count_days(self, s: TrinoSession, mode: LoadMode, table: str, days: Sequence[str],
                   partition_column: str) -> dict[str, int]:
        counts = dict.fromkeys(days, 0)
        if not days:
            return counts
        part = quote(partition_column)
        first, last = min(days), max(days)
        bounds = f"DATE {literal(first)} AND DATE {literal(last)}"
        relation = table
        if mode == "external":  # the raw table prunes by partition; the view would too, slower
            relation = naming.raw_table(table)
            if not self.columns(s, mode, relation):
                if not self.columns(s, mode, table):
                    return counts
                relation, bounds = table, f"{literal(first)} AND {literal(last)}"  # pre-view
        elif not self.columns(s, mode, table):
            return counts
        rows = s.run(
            f"SELECT CAST({part} AS varchar), count(*) FROM {self.qualified(mode, relation)} "
            f"WHERE {part} BETWEEN {bounds} GROUP BY 1",
            what=f"counting rows per day of {self.display(mode, table)}",
        )
        counts.update({str(day): int(n) for day, n in rows if str(day) in counts})
        return counts

    def count_all(self, s: TrinoSession, mode: LoadMode, table: str) -> int:
        if not self.columns(s, mode, table):
            return 0
        rows = s.run(f"SELECT count(*) FROM {self.qualified(mode, table)}",
                     what=f"counting rows of {self.display(mode, table)}")
        return int(rows[0][0])


def create(s: TrinoSession, sql: str, exists: Callable[[], bool], *, what: str) -> None:
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


def checked_days(days: Sequence[str]) -> list[str]:
    """The days as canonical ``YYYY-MM-DD`` (they go into SQL as literals)."""
    out = []
    for day in days:
        try:
            out.append(dt.date.fromisoformat(day).isoformat())
        except ValueError as e:
            raise WarehouseError(f"partition key {day!r} is not a YYYY-MM-DD day") from e
    return out


def s3_folder(uri: str, table: str) -> str:
    """``uri`` as a folder URI; Hive tables need ``s3://`` locations."""
    if not uri.startswith("s3://"):
        raise WarehouseError(
            f"table {table}: the lake is at {uri!r}, but Trino reads Parquet only from S3 "
            "(Hive tables need s3:// locations); set the tenant's storage.root to "
            "s3://<bucket>/<prefix> to load into Trino, or use warehouse type duckdb"
        )
    return uri.rstrip("/") + "/"


def token() -> str:
    return uuid.uuid4().hex[:8]
