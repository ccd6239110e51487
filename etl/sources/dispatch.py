"""Choose the reader for a source URL and open it.

``auto`` reads through DuckDB's scanner where the URL's dialect has one (PostgreSQL,
MySQL/MariaDB: fast, exact types) and through SQLAlchemy everywhere else (SQLite, MSSQL,
Oracle, ...); ``sqlalchemy`` forces the generic path; ``duckdb`` insists on a scanner and fails
for dialects without one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, get_args

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from etl.sources.base import ExtractRequest, SourceError
from etl.sources.dialects.registry import dialect_for
from etl.sources.duckdb_reader import open_duckdb_reader
from etl.sources.plan import plan_read
from etl.sources.sqlalchemy_reader import open_sqlalchemy_reader

CONNECT_TIMEOUT_S = 15
EngineChoice = Literal["auto", "duckdb", "sqlalchemy"]
ENGINES: tuple[str, ...] = get_args(EngineChoice)


def resolve_url(url: str, password: str | None) -> URL:
    """The URL with the password from the environment and an embedded file path made absolute."""
    parsed = make_url(url)
    if password:
        parsed = parsed.set(password=password)
    file = dialect_for(parsed).local_file(parsed)
    if file is not None:
        parsed = parsed.set(database=str(file.resolve()))
    return parsed


def create_source_engine(url: URL) -> sa.Engine:
    dialect = dialect_for(url)
    dialect.check_url(url)
    connect_args = dialect.connect_args(CONNECT_TIMEOUT_S)
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=False)


def choose_reader(url: URL, engine: str) -> Literal["duckdb", "sqlalchemy"]:
    """Which reader serves ``url``; ``engine: duckdb`` on a dialect without scanner is an error."""
    if engine not in ENGINES:
        raise SourceError(f"unknown source engine {engine!r}; valid engines: {list(ENGINES)}")
    if engine == "sqlalchemy":
        return "sqlalchemy"
    dialect = dialect_for(url)
    if dialect.scanner is not None:
        return "duckdb"
    if engine == "duckdb":
        raise SourceError(
            f"engine 'duckdb' reads only PostgreSQL and MySQL/MariaDB sources, not "
            f"{url.get_backend_name()!r} ({dialect.label}); use engine 'auto' or 'sqlalchemy' "
            "for this source"
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
                yield plan.described(batches)
        else:
            with open_sqlalchemy_reader(db, plan, request.batch_size, secret) as batches:
                yield plan.described(batches)
    finally:
        db.dispose()
