"""Choose the reader for a source URL and open it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from etl.sources.base import ExtractRequest, SourceError
from etl.sources.sqlalchemy_reader import read_sqlalchemy

CONNECT_TIMEOUT_S = 15


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
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=False)


@contextmanager
def open_reader(
    url: URL, request: ExtractRequest, engine: str = "auto"
) -> Iterator[pa.RecordBatchReader]:
    """Yield a reader over the request's rows; the connection is released on exit."""
    db = create_source_engine(url)
    try:
        yield read_sqlalchemy(db, request)
    finally:
        db.dispose()
