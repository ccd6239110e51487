"""The fast path: PostgreSQL and MySQL/MariaDB streamed as Arrow through DuckDB's scanners.

DuckDB's ``postgres_scanner`` reads PostgreSQL's binary COPY protocol and ``mysql_scanner`` the
MySQL result protocol straight into columnar vectors, which DuckDB exports as Arrow without a
Python object per value. That is what makes this path several times faster than the generic one.

How a read goes:

* The dialect (:mod:`etl.sources.dialects`) names the scanner. The extension is loaded by path
  from its PyPI package (``duckdb-extension-*-scanner``, pinned to DuckDB's version);
  auto-install/auto-load are off, so nothing is fetched at run time.
* The source is ATTACHed ``READ_ONLY`` with the statements the dialect writes (PostgreSQL: a
  libpq connection string; MySQL: a temporary in-memory secret). The password only ever
  travels inside those statements; every DuckDB error is redacted before it becomes a
  ``SourceError``.
* The statement is the :class:`~etl.sources.plan.ReadPlan` both readers share, rendered with
  literal values (identifiers quoted by SQLAlchemy, window bounds as typed datetime literals)
  and passed as a quoted string to ``postgres_query``/``mysql_query``. The server runs it
  as written, so the date predicate uses the index on the date column and the rows stream:
  PostgreSQL as one ``COPY (...) TO STDOUT (FORMAT binary)``, MySQL as one streamed result.
  (An attached-table scan would also push the filter down, but it splits PostgreSQL tables into
  ctid ranges that each repeat the index scan, and it cannot apply the source-side casts.)
* Sessions are pinned to UTC: DuckDB's ``TimeZone`` (timestamptz is exported as
  ``timestamp[us, UTC]``) and MySQL's ``time_zone`` (TIMESTAMP values arrive as UTC). Naive
  timestamps carry no zone anywhere, so they are never shifted.

Memory is bounded by the batch, not the table: DuckDB runs one thread with no insertion-order
buffering (see :data:`SETTINGS`), and a prefetch thread keeps exactly one decoded batch ahead of
the Parquet writer so decoding and encoding overlap (:mod:`etl.sources.prefetch`). At most three
batches are alive: the one being written, the one queued and the one being decoded.

That thread owns the DuckDB connection and does all the talking to the source, so the writer
waits at most ``source.read_timeout_s`` for a batch. A scanner blocked on a frozen server
cannot be reached (its socket is inside libpq or libmysqlclient) and DuckDB's ``interrupt()``
takes effect only when the scanner returns: the thread is then abandoned, and closes the scan
and the connection itself if the server ever answers.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy.engine import URL

from etl.sources.base import SourceRead
from etl.sources.dialects.registry import Dialect, Scanner, dialect_for
from etl.sources.errors import SourceError, first_line, where
from etl.sources.fingerprint import Fingerprints, TakenFingerprints
from etl.sources.plan import ReadPlan, render_sql
from etl.sources.prefetch import Prefetcher
from etl.sources.stall import stalled
from etl.utils.live_work import LiveWork
from etl.utils.logging import redact
from etl.utils.sql import literal

# One batch decoded ahead while the writer encodes the current one: on the bench table this
# took the full extract from ~480k to ~640k-1M rows/s for about one batch of extra memory.
PREFETCH_DEPTH = 1
ALIAS = "src"

# Measured on the 5M-row bench table (bench/extract.py); each one trades nothing we need:
SETTINGS: dict[str, str | int | bool] = {
    "autoinstall_known_extensions": False,  # never download an extension at run time
    "autoload_known_extensions": False,
    "threads": 1,  # one COPY / result stream: more threads only add per-thread buffers
    "preserve_insertion_order": False,  # nothing to reorder; lets DuckDB skip order buffers
    "memory_limit": "256MB",  # a streaming scan holds a few vectors; fail loudly, not swap
}


@contextmanager
def open_duckdb_reader(url: URL, plan: ReadPlan, batch_size: int,
                       statement_timeout_s: float | None = None,
                       read_timeout_s: float | None = None,
                       live: LiveWork | None = None,
                       pool: ScannerPool | None = None) -> Iterator[SourceRead]:
    """Yield the read over ``plan`` (and its fingerprints); the DuckDB connection (and the
    source's) close on exit, or, with ``pool``, go back to it once the read ended cleanly.

    Everything that talks to the source (attaching, the fingerprints, starting the query, each
    batch) runs on the prefetch thread, so a stalled source fails after ``read_timeout_s``
    here instead of hanging (:mod:`etl.sources.stall`).

    A plan whose rows carry their hashes (PostgreSQL, MySQL/MariaDB) runs no fingerprint query:
    the caller adds the hashes up (:mod:`etl.sources.in_band`). Any other plan with a
    fingerprint query runs it first. Where the dialect's scanner gives one snapshot to a DuckDB
    transaction (``Dialect.scanner_snapshot``) both run in one; otherwise the fingerprint is
    taken again after the last batch.
    """
    dialect = dialect_for(url)
    scanner = dialect.scanner
    if scanner is None:
        raise SourceError(f"DuckDB has no scanner for {dialect.label} sources")
    held = _Held()
    # Hashes in the rows are added up by the caller (etl.sources.in_band): no query of its own.
    asks = plan.fingerprint is not None and plan.row_hashes is None
    taken = TakenFingerprints() if asks else None
    stream = _stream(url, plan, batch_size, statement_timeout_s, dialect, scanner, held, pool,
                     taken)
    ahead: Prefetcher[pa.Schema | pa.RecordBatch] = Prefetcher(
        stream, depth=PREFETCH_DEPTH, timeout_s=read_timeout_s, interrupt=held.interrupt,
        stalled=lambda: stalled(f"reading {plan.label!r} from {where(url)}",
                                read_timeout_s or 0))
    try:
        with live.running(ahead.abort) if live is not None else nullcontext():
            items = iter(ahead)
            target = next(items)
            assert isinstance(target, pa.Schema)
            yield SourceRead(pa.RecordBatchReader.from_batches(target, _only_batches(items)),
                             taken)
    finally:
        ahead.close()  # the thread closes the scan and the connection (an abandoned one later)


class ScannerPool:
    """At most one idle DuckDB connection with the scanner loaded and the source attached.

    The scans of a range run one after the other; loading the extension and attaching the
    source once, not once per scan, is what the pool saves. A read takes the connection for
    its whole run on the prefetch thread and gives it back only when its stream ended cleanly:
    a failed, stopped or abandoned read closes its connection itself, so no connection a
    stalled thread may still be inside is ever handed to the next read.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: duckdb.DuckDBPyConnection | None = None
        self._closed = False

    def take(self) -> duckdb.DuckDBPyConnection | None:
        with self._lock:
            con, self._idle = self._idle, None
            return con

    def give_back(self, con: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            keep = not self._closed and self._idle is None
            if keep:
                self._idle = con
        if not keep:
            con.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            con, self._idle = self._idle, None
        if con is not None:
            con.close()


class _Held:
    """The connection the prefetch thread opened, for interrupting it from elsewhere."""

    con: duckdb.DuckDBPyConnection | None = None

    def interrupt(self) -> None:
        con = self.con
        if con is not None:
            con.interrupt()


def _stream(url: URL, plan: ReadPlan, batch_size: int, statement_timeout_s: float | None,
            dialect: Dialect, scanner: Scanner, held: _Held, pool: ScannerPool | None,
            taken: TakenFingerprints | None) -> Iterator[pa.Schema | pa.RecordBatch]:
    """The read, on the prefetch thread: the fingerprints (into ``taken``), the schema, then
    the batches."""
    secret = url.password if isinstance(url.password, str) else None
    con = pool.take() if pool is not None else None
    fresh = con is None
    if con is None:
        extension = extension_path(scanner)
        identity = VERIFIED.identity(extension)
        con = _connect(VERIFIED.has(identity))
    held.con = con
    ended = False
    try:
        if fresh:
            _load(con, dialect, scanner, extension, secret)
            VERIFIED.add(identity)  # DuckDB checked it now, or it was checked before
            _attach(con, url, dialect, secret, statement_timeout_s)
        began = False
        if taken is not None:
            taken.consistent = dialect.scanner_snapshot
            if taken.consistent:  # one source transaction for the fingerprint and the rows
                con.execute("BEGIN TRANSACTION")
                began = True
            taken.before = _fingerprints(con, url, plan, scanner, secret)
        sql = render_sql(plan.statement, url)
        reader, failure = None, None
        try:
            # A literal, not a $1 parameter: binding Python values makes duckdb import pandas
            # and numpy when they are installed (+1.5 s and +55 MiB per extraction).
            reader = con.execute(_scan(scanner, sql)).to_arrow_reader(batch_size)
        except duckdb.Error as e:
            failure = _clean(e, secret, sql)
        if reader is None:
            raise SourceError(f"reading {plan.label!r} failed: {failure}")
        try:
            target = _target_schema(reader.schema, plan)
            yield target
            yield from _batches(reader, target, plan.label, secret)
            if taken is not None and not taken.consistent:  # on a cursor of its own
                taken.after = _fingerprints(con.cursor(), url, plan, scanner, secret)
        finally:
            reader.close()  # ends the scan now, so the source session does not outlive us
        if began:  # the snapshot ends with the read: a pooled connection's next read is new
            con.execute("COMMIT")
        ended = True
    finally:
        held.con = None
        if ended and pool is not None:
            pool.give_back(con)
        else:
            con.close()


def _scan(scanner: Scanner, sql: str) -> str:
    # A literal, not a $1 parameter: binding Python values makes duckdb import pandas and
    # numpy when they are installed (+1.5 s and +55 MiB per extraction).
    return f"SELECT * FROM {scanner.query_function}('{ALIAS}', {literal(sql)})"


def _fingerprints(con: duckdb.DuckDBPyConnection, url: URL, plan: ReadPlan, scanner: Scanner,
                  secret: str | None) -> Fingerprints:
    """The days' fingerprints, by the plan's fingerprint query through the scanner."""
    fingerprint = plan.fingerprint
    assert fingerprint is not None
    sql = render_sql(fingerprint.statement, url)
    rows, failure = None, None
    try:
        rows = con.execute(_scan(scanner, sql)).fetchall()
    except duckdb.Error as e:
        failure = _clean(e, secret, sql)
    if rows is None:
        raise SourceError(f"the fingerprint of {plan.label!r} failed: {failure}")
    return fingerprint.collect(rows)


def _only_batches(items: Iterator[pa.Schema | pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for item in items:
        assert isinstance(item, pa.RecordBatch)
        yield item


def extension_path(scanner: Scanner) -> Path:
    """The extension file shipped in the scanner's PyPI package, for this DuckDB version."""
    spec = importlib.util.find_spec(scanner.package)
    if spec is None or spec.origin is None:
        raise SourceError(f"the Python package {scanner.package!r} is not installed")
    root = Path(spec.origin).parent / "extensions"
    exact = root / f"v{duckdb.__version__}" / f"{scanner.extension}.duckdb_extension"
    if exact.is_file():
        return exact
    found = sorted(root.glob("*/*.duckdb_extension"))
    if not found:
        raise SourceError(f"no .duckdb_extension file in {root}")
    return found[-1]


class _Verified:
    """Extension files whose signature DuckDB checked in this process, by path, size and
    modification time.

    DuckDB checks a signed extension's signature on every ``LOAD``: a SHA-256 of the whole file
    (39 MB for the PostgreSQL scanner), 0.09-0.12 s each time, and every read opens a new
    DuckDB database. Once one ``LOAD`` of this very file passed the check, later connections
    load it with ``allow_unsigned_extensions`` (0.001 s): the file is the one checked, and
    the package that ships it is pinned by its hash in ``uv.lock``. A file that changed since
    is checked again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: set[tuple[str, int, int]] = set()

    @staticmethod
    def identity(path: Path) -> tuple[str, int, int]:
        found = path.stat()
        return str(path), found.st_size, found.st_mtime_ns

    def has(self, identity: tuple[str, int, int]) -> bool:
        with self._lock:
            return identity in self._files

    def add(self, identity: tuple[str, int, int]) -> None:
        with self._lock:
            self._files.add(identity)


VERIFIED = _Verified()


def _connect(checked: bool) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB; ``checked``: this process already checked the extension file it
    will load (:class:`_Verified`), so its signature check is skipped."""
    config: dict[str, Any] = dict(SETTINGS)
    if checked:
        config["allow_unsigned_extensions"] = True
    return duckdb.connect(":memory:", config=config)


def _load(con: duckdb.DuckDBPyConnection, dialect: Dialect, scanner: Scanner, path: Path,
          secret: str | None) -> None:
    statements = [
        "SET TimeZone = 'UTC'",  # timestamptz is exported as timestamp[us, UTC]
        f"LOAD {literal(str(path))}",
        *dialect.scanner_settings(),
    ]
    failure = _run(con, statements, secret)
    if failure is not None:
        raise SourceError(f"cannot load DuckDB's {scanner.extension}: {failure}")


def _attach(con: duckdb.DuckDBPyConnection, url: URL, dialect: Dialect, secret: str | None,
            statement_timeout_s: float | None) -> None:
    failure = _run(con, list(dialect.scanner_attach(url, ALIAS, statement_timeout_s)), secret)
    if failure is not None:
        raise SourceError(f"cannot connect to {where(url)}: {failure}")


def _run(con: duckdb.DuckDBPyConnection, statements: list[str], secret: str | None) -> str | None:
    """Run ``statements``; the cleaned message of the first failure, or None.

    Callers raise outside the ``except`` block on purpose: DuckDB's own error may hold the
    connection string, and raising inside the handler would chain it as ``__context__``.
    """
    try:
        for statement in statements:
            con.execute(statement)
    except duckdb.Error as e:
        return _clean(e, secret)
    return None


def _target_schema(scanned: pa.Schema, plan: ReadPlan) -> pa.Schema:
    """The scanner's schema with the types the plan reads (e.g. MySQL TIMESTAMP made UTC-aware).

    Columns read as text for a conversion stay text here; :mod:`etl.sources.convert` finishes.
    """
    known = {c.name: c.type.delivered for c in plan.columns or () if c.type is not None}
    return pa.schema([pa.field(f.name, known.get(f.name) or f.type) for f in scanned])


def _batches(
    reader: pa.RecordBatchReader, target: pa.Schema, label: str, secret: str | None
) -> Iterator[pa.RecordBatch]:
    """The scanner's batches cast to ``target``, with errors turned into SourceError."""
    while True:
        batch, failure = None, None
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowException, duckdb.Error) as e:  # raised below, unchained (see _run)
            failure = _clean(e, secret)
        if batch is None:
            raise SourceError(f"reading {label!r} failed: {failure}")
        yield batch if batch.schema == target else batch.cast(target)


_SERVER_ERROR = "ERROR:"  # how PostgreSQL's messages start inside DuckDB's
_CONNINFO_ECHO = re.compile(r'\s(?:at|with parameters)\s+"[^"]*"')


def _clean(error: BaseException, secret: str | None, sql: str | None = None) -> str:
    """The cause in DuckDB's message: no echoed connection string or query, secrets masked.

    The scanners wrap the source's own error ("ERROR:  permission denied ...") after an echo
    of the statement, which may span lines; the source's error is what names the cause.
    """
    text = redact(_CONNINFO_ECHO.sub("", str(error)), [secret])
    if sql:
        text = text.replace(sql, "<query>")
    if _SERVER_ERROR in text:
        text = _SERVER_ERROR + text.split(_SERVER_ERROR, 1)[1]
    return first_line(text)[:500] or type(error).__name__
