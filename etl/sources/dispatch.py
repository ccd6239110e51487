"""Choose the reader for a source URL and open it.

``auto`` reads through DuckDB's scanner where the URL's dialect has one (PostgreSQL,
MySQL/MariaDB: fast, exact types) and through SQLAlchemy everywhere else (SQLite, MSSQL,
Oracle, ...); ``sqlalchemy`` forces the generic path; ``duckdb`` insists on a scanner and fails
for dialects without one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Literal, get_args

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from etl.sources.base import ExtractRequest, SourceRead
from etl.sources.convert import convert_reader, fits, misfit_message
from etl.sources.dialects.registry import dialect_for
from etl.sources.duckdb_reader import open_duckdb_reader
from etl.sources.errors import SourceError, describe_db_error, where
from etl.sources.fingerprint import Fingerprints
from etl.sources.fit_check import converted_decimals
from etl.sources.plan import ReadPlan, plan_read
from etl.sources.sqlalchemy_reader import open_sqlalchemy_reader
from etl.sources.stall import EngineSockets, call_with_timeout
from etl.utils.live_work import LiveWork

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


def create_source_engine(url: URL, statement_timeout_s: float | None = None,
                         connect_timeout_s: int = CONNECT_TIMEOUT_S) -> sa.Engine:
    dialect = dialect_for(url)
    dialect.check_url(url)
    connect_args = dialect.connect_args(connect_timeout_s, statement_timeout_s)
    # No pool: an engine serves one read, and a connection closes when its user lets go of
    # it, also one that a stalled read abandoned and that completes after the read gave up.
    engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)
    if statement_timeout_s is not None:
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dialect.configure_session(dbapi_connection, statement_timeout_s)

        sa.event.listen(engine, "connect", on_connect)
    return engine


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
    url: URL, request: ExtractRequest, engine: str = "auto", live: LiveWork | None = None
) -> Iterator[pa.RecordBatchReader]:
    """Yield a reader over the request's rows; connections are released on exit."""
    with open_read(url, request, engine, live) as read:
        yield read.reader


@contextmanager
def open_read(url: URL, request: ExtractRequest, engine: str = "auto",
              live: LiveWork | None = None) -> Iterator[SourceRead]:
    """Yield the request's rows and, if it asks, each day's fingerprint taken with them.

    Both readers first plan the read through SQLAlchemy (connect, reflect or describe, build
    the statement), so a bad password, a missing table or column fails the same way for both.
    Every call on the source waits at most ``request.read_timeout_s`` (:mod:`etl.sources.stall`);
    ``live`` gets a way to interrupt the read while it runs (the step is being stopped).
    """
    reader = choose_reader(url, engine)
    secret = _secret(url)
    db = create_source_engine(url, request.statement_timeout_s)
    sockets = EngineSockets(db, dialect_for(url))
    try:
        with live.running(sockets.abort) if live is not None else nullcontext():
            plan = call_with_timeout(lambda: plan_read(db, request, secret),
                                     request.read_timeout_s,
                                     f"planning the read of {request.label!r} from {where(url)}",
                                     sockets.abort)
        if reader == "duckdb":
            db.dispose()  # the plan's connection is not needed while DuckDB streams
            with open_duckdb_reader(url, plan, request.batch_size, request.statement_timeout_s,
                                    request.read_timeout_s, live) as read:
                yield _converted(read, plan)
        else:
            with open_sqlalchemy_reader(db, plan, request.batch_size, secret,
                                        read_timeout_s=request.read_timeout_s,
                                        abort=sockets.abort, live=live) as read:
                yield _converted(read, plan)
    finally:
        db.dispose()


def _converted(read: SourceRead, plan: ReadPlan) -> SourceRead:
    return SourceRead(plan.described(convert_reader(read.reader, plan)), read.fingerprints)


def take_fingerprints(url: URL, request: ExtractRequest,
                      live: LiveWork | None = None) -> Fingerprints:
    """Each day's fingerprint of the request's window now, without reading its rows (one
    grouped query, or the covered columns hashed here where the database cannot), within
    ``request.read_timeout_s`` like a read (:mod:`etl.sources.stall`)."""
    db = create_source_engine(url, request.statement_timeout_s)
    sockets = EngineSockets(db, dialect_for(url))
    try:
        with live.running(sockets.abort) if live is not None else nullcontext():
            return call_with_timeout(lambda: _take_fingerprints(db, url, request),
                                     request.read_timeout_s,
                                     f"taking the fingerprints of {request.label!r} in "
                                     f"{where(url)}", sockets.abort)
    finally:
        db.dispose()


def _take_fingerprints(db: sa.Engine, url: URL, request: ExtractRequest) -> Fingerprints:
    secret = _secret(url)
    plan = plan_read(db, request, secret)
    if plan.fingerprint is None:
        raise SourceError(f"{plan.label!r} has no day window to take fingerprints of")
    fingerprint = plan.fingerprint
    try:
        with db.connect() as conn:
            result = conn.execute(fingerprint.statement,
                                  execution_options={"stream_results": True})
            return fingerprint.collect(result)
    except sa.exc.SQLAlchemyError as e:
        cause = describe_db_error(e, secret)
        raise SourceError(f"the fingerprint of {plan.label!r} failed: {cause}") from None


def check_values(url: URL, request: ExtractRequest, live: LiveWork | None = None) -> None:
    """Plan the read and fail now if a row of its window would not fit its planned type.

    Run before a range extract writes its first day (see :mod:`etl.sources.fit_check`); the
    plan's own checks (columns, the partition column's name, ``column_types``) fail here too.
    """
    db = create_source_engine(url, request.statement_timeout_s)
    sockets = EngineSockets(db, dialect_for(url))
    try:
        with live.running(sockets.abort) if live is not None else nullcontext():
            call_with_timeout(lambda: _check_values(db, url, request), request.read_timeout_s,
                              f"checking the values of {request.label!r} in {where(url)}",
                              sockets.abort)
    finally:
        db.dispose()


def _check_values(db: sa.Engine, url: URL, request: ExtractRequest) -> None:
    secret = _secret(url)
    plan = plan_read(db, request, secret)
    if plan.fit_check is None or plan.columns is None:
        return
    try:
        with db.connect() as conn:
            row = conn.execute(plan.fit_check).mappings().first()
    except sa.exc.SQLAlchemyError as e:
        cause = describe_db_error(e, secret)
        raise SourceError(f"checking the values of {plan.label!r} failed: {cause}") from None
    if row is None:
        return
    targets = converted_decimals({c.name: c.type for c in plan.columns})
    for name, target in targets.items():
        value = row[name]
        if value is not None and not fits(str(value), target):
            raise SourceError(misfit_message(name, str(value), target))


def _secret(url: URL) -> str | None:
    return url.password if isinstance(url.password, str) else None
