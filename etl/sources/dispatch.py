"""Choose the reader for a source URL and open it.

``auto`` reads through DuckDB's scanner where the URL's dialect has one (PostgreSQL,
MySQL/MariaDB: fast, exact types) and through SQLAlchemy everywhere else (SQLite, MSSQL,
Oracle, ...); ``sqlalchemy`` forces the generic path; ``duckdb`` insists on a scanner and fails
for dialects without one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from typing import Any, Literal, get_args

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from etl.sources.base import ExtractRequest, SourceRead
from etl.sources.convert import convert_reader, fits, misfit_message
from etl.sources.dialects.registry import dialect_for
from etl.sources.duckdb_reader import ScannerPool, open_duckdb_reader
from etl.sources.errors import SourceError, describe_db_error, where
from etl.sources.fingerprint import Fingerprints
from etl.sources.fit_check import converted_decimals
from etl.sources.in_band import summed
from etl.sources.plan import ReadPlan, Reflected, plan_read
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


class ReadSession:
    """Reads of one source, one after the other, on one reflection and one DuckDB connection.

    A range extract reads its days with one query per ``days_per_scan`` days: the session
    plans them all on one reflection of the table and, for the DuckDB reader, hands each read
    the DuckDB connection the previous one left with the scanner loaded and the source attached
    (:class:`~etl.sources.duckdb_reader.ScannerPool`). Every call on the source still waits at
    most ``request.read_timeout_s`` (:mod:`etl.sources.stall`), and ``live`` can interrupt it
    (the step is being stopped). ``close`` (or the end of a ``with`` block) releases everything.
    """

    def __init__(self, url: URL, engine: str = "auto", statement_timeout_s: float | None = None,
                 live: LiveWork | None = None) -> None:
        self.url = url
        self.reader = choose_reader(url, engine)
        self.secret = _secret(url)
        self.timeout = statement_timeout_s
        self.live = live
        self.db = create_source_engine(url, statement_timeout_s)
        self.sockets = EngineSockets(self.db, dialect_for(url))
        self._reflected: Reflected = {}
        self._scanners = ScannerPool()

    def __enter__(self) -> ReadSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._scanners.close()
        self.db.dispose()

    def plan(self, request: ExtractRequest) -> ReadPlan:
        with self._interruptible():
            return call_with_timeout(
                lambda: plan_read(self.db, request, self.secret, self._reflected),
                request.read_timeout_s,
                f"planning the read of {request.label!r} from {where(self.url)}",
                self.sockets.abort)

    @contextmanager
    def read(self, request: ExtractRequest) -> Iterator[SourceRead]:
        """The request's rows and, when it asks, each day's fingerprint taken with them; the
        stream ends on exit, the session's reflection and idle DuckDB connection stay for the
        next read."""
        if self.reader == "duckdb" and request.fingerprint is not None:
            request = replace(request, fingerprint=replace(request.fingerprint, in_rows=True))
        plan = self.plan(request)
        if self.reader == "duckdb":
            self.db.dispose()  # the plan's connection is not needed while DuckDB streams
            with open_duckdb_reader(self.url, plan, request.batch_size, self.timeout,
                                    request.read_timeout_s, self.live,
                                    pool=self._scanners) as read:
                if plan.row_hashes is not None:
                    read = SourceRead(*summed(read.reader, plan.row_hashes))
                yield _converted(read, plan)
        else:
            with open_sqlalchemy_reader(self.db, plan, request.batch_size, self.secret,
                                        read_timeout_s=request.read_timeout_s,
                                        abort=self.sockets.abort, live=self.live) as read:
                yield _converted(read, plan)

    def check(self, request: ExtractRequest) -> None:
        """Plan the read and fail now if a row of its window would not fit its planned type.

        Run before a range extract writes its first day (see :mod:`etl.sources.fit_check`);
        the plan's own checks (columns, the partition column, ``column_types``) fail here too.
        """
        with self._interruptible():
            call_with_timeout(lambda: self._check(request), request.read_timeout_s,
                              f"checking the values of {request.label!r} in {where(self.url)}",
                              self.sockets.abort)

    def _interruptible(self) -> Any:
        return self.live.running(self.sockets.abort) if self.live is not None else nullcontext()

    def _check(self, request: ExtractRequest) -> None:
        plan = plan_read(self.db, request, self.secret, self._reflected)
        if plan.fit_check is None or plan.columns is None:
            return
        try:
            with self.db.connect() as conn:
                row = conn.execute(plan.fit_check).mappings().first()
        except sa.exc.SQLAlchemyError as e:
            cause = describe_db_error(e, self.secret)
            raise SourceError(f"checking the values of {plan.label!r} failed: {cause}") from None
        if row is None:
            return
        targets = converted_decimals({c.name: c.type for c in plan.columns})
        for name, target in targets.items():
            value = row[name]
            if value is not None and not fits(str(value), target):
                raise SourceError(misfit_message(name, str(value), target))


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
    with ReadSession(url, engine, request.statement_timeout_s, live) as session, \
            session.read(request) as read:
        yield read


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
    """:meth:`ReadSession.check` on a session of its own."""
    with ReadSession(url, "auto", request.statement_timeout_s, live) as session:
        session.check(request)


def _secret(url: URL) -> str | None:
    return url.password if isinstance(url.password, str) else None
