"""What differs between the source servers, so the source and fidelity tests are written once.

Each module here (``postgres``, ``mariadb``) defines one :class:`SourceCase` named ``CASE``. Its
``columns`` are the every-type table: each column's DDL type, the literals of rows 1 and 2 (row 3
is NULL), and what it must become in Parquet, DuckDB and Trino (the external view and Iceberg
alike). The integration tests assert exactly these, and the README's type table is rendered from
them (``python -m tests.type_table``), so the table cannot drift from what is tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

# column -> (Arrow type in the Parquet file, values of rows 1, 2, 3)
ExpectedColumns = dict[str, tuple[pa.DataType, list[Any]]]

DAY = "2026-03-02"
"""The day every row of ``every_type`` is on (its ``loaded`` column)."""


@dataclass(frozen=True)
class TypedColumn:
    """One column of the every-type table and what every stage must make of it."""

    name: str
    ddl: str
    literals: tuple[str, str, str]
    arrow: pa.DataType
    values: tuple[Any, Any, Any]
    duckdb: str
    trino: str
    """The type in Trino, in the external view and the Iceberg table alike."""
    shown: str = ""
    """The source type as the README shows it (default: the DDL)."""
    logical: str | None = None
    """The ``etl.type`` field metadata the Parquet column must carry."""
    enum: tuple[str, ...] = ()
    note: str = ""
    in_table: bool = True
    """Whether the README's type table lists it (not the helper columns id, dt, loaded)."""

    @property
    def source_type(self) -> str:
        return self.shown or self.ddl


def typed(name: str, ddl: str, literals: tuple[str, str], arrow: pa.DataType,
          values: tuple[Any, Any], duckdb: str, trino: str, **extra: Any) -> TypedColumn:
    """A column whose third row is NULL."""
    return TypedColumn(name, ddl, (*literals, "NULL"), arrow, (*values, None), duckdb, trino,
                       **extra)


@dataclass(frozen=True)
class SourceCase:
    """One source server as the shared tests see it."""

    name: str
    """Test id and pytest marker (``-m postgres`` / ``-m mariadb``)."""
    label: str
    """How the README's type table names the server."""
    db_fixture: str
    """The tests/conftest.py fixture that yields the URL of a fresh database on the server."""
    backend: str
    """How errors name the server: ``cannot connect to <backend>://etl@host:port/...``."""
    auth_error: str
    """Regex of the server's own text for a wrong password (it must reach the user)."""
    naive_timestamp: str
    """The DDL type of a timestamp without time zone (``timestamp`` / ``datetime``)."""
    prelude: tuple[str, ...]
    """Statements run before creating ``every_type`` (types, session zone)."""
    columns: tuple[TypedColumn, ...]
    """The every-type table: rows 1, 2 are extremes, row 3 is NULLs."""
    events_ddl: tuple[str, ...]
    """Statements creating ``events (id, at, local_at)``: ``at`` is an instant (stored as UTC),
    ``local_at`` naive; ids 2, 3 are inside 2026-03-02 in Asia/Seoul, ids 1, 4 just outside."""
    custom_query: str
    """A query over the seeded ``production_result`` with a computed decimal ``cost``, a
    literal ``tag`` of ``'a:b%'`` (colon and percent must survive parameter binding) and the
    ``produced_at`` date column, plus whatever server-specific expression is worth covering."""
    custom_cost_type: pa.DataType
    """The Arrow type the query's ``cost`` must get from either engine."""
    unbounded_decimal: str
    """The DDL of the server's widest decimal (``numeric`` / ``decimal(65,30)``)."""
    unfit_value: str
    """A value of that type with more decimals than the default ``decimal(38,9)`` holds."""

    @property
    def every_type_ddl(self) -> tuple[str, ...]:
        columns = ", ".join(f"{c.name} {c.ddl}" for c in self.columns)
        rows = ", ".join(
            "(" + ", ".join(c.literals[i] for c in self.columns) + ")" for i in range(3))
        return (*self.prelude, f"CREATE TABLE every_type ({columns})",
                f"INSERT INTO every_type VALUES {rows}")

    @property
    def every_type(self) -> ExpectedColumns:
        """What each column must become in Parquet, in table column order."""
        return {c.name: (c.arrow, list(c.values)) for c in self.columns}
