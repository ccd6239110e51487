"""Session fixtures for the real loopback test servers; the logic lives in tools/services.

Servers start lazily (the first test that asks for one) and stop at session end. A server that
cannot be installed or started skips its tests with the reason, or fails them when
ETL_TEST_STRICT=1 (set by `.ci/run`), so a missing dependency is never silently green there.
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # `tools` is not installed; plain `pytest` needs the repo root
    sys.path.insert(0, str(_ROOT))

from tests.strict import missing  # noqa: E402
from tools.services import mariadb, postgres, s3, trino  # noqa: E402
from tools.services.base import Service, ServiceUnavailable  # noqa: E402
from tools.services.s3 import S3Bucket  # noqa: E402

_STARTED: list[Service] = []

# fixture name -> marker; item.fixturenames is transitive, so trino tests also get s3/postgres.
_FIXTURE_MARKERS = {
    "postgres_server": "postgres",
    "mariadb_server": "mariadb",
    "s3_server": "s3",
    "trino_server": "trino",
}


def _start(name: str, starter: Callable[[], Service]) -> Service:
    try:
        svc = starter()
    except Exception as exc:
        reason = exc.reason if isinstance(exc, ServiceUnavailable) else repr(exc)
        hint = exc.hint if isinstance(exc, ServiceUnavailable) else ""
    else:
        _STARTED.append(svc)
        return svc
    # Outside the except block, so the report is the reason, not a chained traceback.
    missing(f"{name} test server unavailable: {reason}"
            + (f"\nhint: {hint}" if hint else ""))


def _serve(name: str, starter: Callable[[], Service]) -> Iterator[Service]:
    svc = _start(name, starter)
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Service]:
    yield from _serve("PostgreSQL", postgres.start_postgres)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[Service]:
    yield from _serve("MariaDB", mariadb.start_mariadb)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Service]:
    yield from _serve("S3 (moto)", s3.start_s3)


@pytest.fixture(scope="session")
def trino_server(s3_server: Service, postgres_server: Service) -> Iterator[Service]:
    yield from _serve("Trino", lambda: trino.start_trino(s3_server, postgres_server))


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture
def postgres_db(postgres_server: Service) -> Iterator[str]:
    """Fresh database; yields `postgresql+psycopg://etl:etl@127.0.0.1:<port>/<db>`."""
    name = _unique("t_")
    url = postgres.create_database(postgres_server, name)
    yield url
    postgres.drop_database(postgres_server, name)


@pytest.fixture
def mariadb_db(mariadb_server: Service) -> Iterator[str]:
    """Fresh database; yields `mysql+pymysql://etl:etl@127.0.0.1:<port>/<db>`."""
    name = _unique("t_")
    url = mariadb.create_database(mariadb_server, name)
    yield url
    mariadb.drop_database(mariadb_server, name)


@pytest.fixture
def s3_bucket(s3_server: Service) -> Iterator[S3Bucket]:
    """Fresh bucket on the session S3 server (which Trino also uses); emptied and deleted."""
    bucket = s3.create_bucket(s3_server, _unique("t-"))
    yield bucket
    with contextlib.suppress(Exception):  # the test may have deleted it already
        s3.delete_bucket(s3_server, bucket.bucket)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the servers they use, so `-m postgres` / `-m "not trino"` select them."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marker in _FIXTURE_MARKERS.items():
            if fixture in names:
                item.add_marker(marker)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _STARTED:
        times = ", ".join(f"{s.name} {s.started_in_s:.1f}s" for s in _STARTED)
        terminalreporter.write_line(f"test servers started: {times}")
