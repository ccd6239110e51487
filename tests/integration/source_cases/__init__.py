"""What differs between the source servers, so tests/integration/test_sources.py is written once.

Each module here (``postgres``, ``mariadb``) defines one :class:`SourceCase` named ``CASE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

# column -> (Arrow type in the Parquet file, values of rows 1, 2, 3)
ExpectedColumns = dict[str, tuple[pa.DataType, list[Any]]]


@dataclass(frozen=True)
class SourceCase:
    """One source server as the shared tests see it."""

    name: str
    """Test id and pytest marker (``-m postgres`` / ``-m mariadb``)."""
    db_fixture: str
    """The tests/conftest.py fixture that yields the URL of a fresh database on the server."""
    backend: str
    """How errors name the server: ``cannot connect to <backend>://etl@host:port/...``."""
    auth_error: str
    """Regex of the server's own text for a wrong password (it must reach the user)."""
    naive_timestamp: str
    """The DDL type of a timestamp without time zone (``timestamp`` / ``datetime``)."""
    every_type_ddl: tuple[str, ...]
    """Statements creating and filling ``every_type``: rows 1, 2 are extremes, row 3 is NULLs."""
    every_type: ExpectedColumns
    """What each column of ``every_type`` must become, in table column order."""
    events_ddl: tuple[str, ...]
    """Statements creating ``events (id, at, local_at)``: ``at`` is an instant (stored as UTC),
    ``local_at`` naive; ids 2, 3 are inside 2026-03-02 in Asia/Seoul, ids 1, 4 just outside."""
    custom_query: str
    """A query over the seeded ``production_result`` with a computed decimal ``cost``, a
    literal ``tag`` of ``'a:b%'`` (colon and percent must survive parameter binding) and the
    ``produced_at`` date column, plus whatever server-specific expression is worth covering."""
    custom_cost_type: pa.DataType
    """The Arrow type the query's ``cost`` must get from either engine."""
