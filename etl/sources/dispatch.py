"""Choose the reader for a source URL and open it.

``auto`` reads PostgreSQL and MySQL/MariaDB through DuckDB's scanners (fast, exact types) and
everything else (SQLite, MSSQL, Oracle, ...) through SQLAlchemy; ``sqlalchemy`` forces the
generic path; ``duckdb`` insists on the scanners and fails for other dialects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, get_args

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from etl.sources.base import ExtractRequest, SourceError
from etl.sources.duckdb_reader import SCANNERS, open_duckdb_reader
from etl.sources.plan import plan_read
from etl.sources.sqlalchemy_reader import open_sqlalchemy_reader

CONNECT_TIMEOUT_S = 15
EngineChoice = Literal["auto", "duckdb", "sqlalchemy"]
ENGINES: tuple[str, ...] = get_args(EngineChoice)


def resolve_url(url: str, password: str | None) -> URL:
    """The URL with the password from the environment and relative SQLite paths made absolute."""
    parsed = make_url(url)
    if password:
        parsed = parsed.set(password=password)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(parsed.database or "").resolve()))
    return parsed


def create_source_engine(url: URL) -> sa.Engine:
    backend = url.get_backend_name()
    connect_args: dict[str, object] = {}
    if backend == "sqlite":
        if url.database and not Path(url.database).exists():
            raise SourceError(f"SQLite database file {url.database} does not exist")
    elif backend in ("postgresql", "mysql", "mariadb"):
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    if backend in ("mysql", "mariadb"):
        # TIMESTAMP values arrive in UTC, as in the DuckDB reader (MySQL converts them to the
        # session zone, which otherwise is the server's).
        connect_args["init_command"] = "SET time_zone = '+00:00'"
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=False)


def choose_reader(url: URL, engine: str) -> Literal["duckdb", "sqlalchemy"]:
    """Which reader serves ``url``; ``engine: duckdb`` on another dialect is an error."""
    if engine not in ENGINES:
        raise SourceError(f"unknown source engine {engine!r}; valid engines: {list(ENGINES)}")
    backend = url.get_backend_name()
    if engine == "sqlalchemy":
        return "sqlalchemy"
    if backend in SCANNERS:
        return "duckdb"
    if engine == "duckdb":
        raise SourceError(
            f"engine 'duckdb' reads only PostgreSQL and MySQL/MariaDB sources, not {backend!r}; "
            "use engine 'auto' or 'sqlalchemy' for this source"
        )
    return "sqlalchemy"


@contextmanager
def open_reader(
    url: URL, request: ExtractRequest, engine: str = "auto"
) -> Iterator[pa.RecordBatchReader]:
    """Yield a reader over the request's rows; connections are released on exit.

    Both readers first plan the read through SQLAlchemy (connect, reflect or describe, build
    the statement), so a bad password, a missing table or column fails the same way for both.
    """
    reader = choose_reader(url, engine)
    secret = url.password if isinstance(url.password, str) else None
    db = create_source_engine(url)
    try:
        plan = plan_read(db, request, secret)
        if reader == "duckdb":
            db.dispose()  # the plan's connection is not needed while DuckDB streams
            with open_duckdb_reader(url, plan, request.batch_size) as batches:
                yield batches
        else:
            with open_sqlalchemy_reader(db, plan, request.batch_size, secret) as batches:
                yield batches
    finally:
        db.dispose()
