"""A stalled server fails the stage within the configured time, saying what timed out.

The S3 server is frozen with SIGSTOP (it accepts connections into its backlog and never
answers, as a hung endpoint does) and the source runs a query longer than its statement
timeout. Without the timeouts both would hang the run for as long as the server stalls.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from etl.config.tenant_config import PipelineAssetConfig
from etl.stages.extract import run_extract
from etl.stages.retries import is_transient
from tests.helpers import storage_resource
from tests.integration.source_support import source
from tools.services import s3
from tools.services.base import Service

CONNECT_TIMEOUT_S = 2.0
REQUEST_TIMEOUT_S = 3.0


@pytest.fixture
def own_s3() -> Iterator[Service]:
    """An S3 server of this test's own: freezing the session's would stall Trino too."""
    svc = s3.start_s3(bucket="lake")
    try:
        yield svc
    finally:
        os.kill(int(svc.extra["pid"]), signal.SIGCONT)
        svc.stop()


def test_a_stalled_s3_fails_the_write_within_its_timeouts(own_s3: Service) -> None:
    store = storage_resource("s3://lake/lake", endpoint_url=own_s3.url, path_style=True,
                             access_key=own_s3.user, secret_key=own_s3.password,
                             region=own_s3.extra["region"],
                             connect_timeout_s=CONNECT_TIMEOUT_S,
                             request_timeout_s=REQUEST_TIMEOUT_S)
    relative = "t/extract/x/dt=2026-03-01/data.parquet"
    store.write(relative, pa.table({"x": [1, 2, 3]}).to_reader())  # reachable: a first file
    os.kill(int(own_s3.extra["pid"]), signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(Exception) as raised:
        store.write(relative, pa.table({"x": [4]}).to_reader())
    elapsed = time.monotonic() - started
    # pyarrow's standard retry strategy tries twice; each try stalls at most a request timeout.
    assert elapsed < 4 * (CONNECT_TIMEOUT_S + REQUEST_TIMEOUT_S), elapsed
    message = str(raised.value).lower()
    assert "timeout" in message or "timed out" in message, message
    assert is_transient(raised.value)  # so the stage's retry policy takes it
    os.kill(int(own_s3.extra["pid"]), signal.SIGCONT)
    assert store.dataset(relative).to_table().column("x").to_pylist() == [1, 2, 3]


def test_a_query_past_the_statement_timeout_is_cancelled(postgres_db: str, tmp_path: Path) -> None:
    assert_cancelled(postgres_db, ("duckdb", "sqlalchemy"), tmp_path, "statement timeout",
                     "SELECT 1 AS id, pg_sleep(30)::text AS slept, now() AS at")


def test_a_mariadb_query_past_the_statement_timeout_is_cancelled(mariadb_db: str,
                                                                 tmp_path: Path) -> None:
    # A row per second of sleep, so the server is interrupted mid-query, not inside SLEEP()
    # (which MariaDB ends quietly, returning 1). The SQLAlchemy reader only: DuckDB's MySQL
    # scanner attaches read-only and cannot set a session variable (see the README).
    assert_cancelled(mariadb_db, ("sqlalchemy",), tmp_path, "max_statement_time",
                     "SELECT seq AS id, SLEEP(1) AS slept FROM seq_1_to_30")


def assert_cancelled(url: str, engines: tuple[str, ...], tmp_path: Path, cause: str,
                     query: str) -> None:
    """A 30 s query under a 2 s statement timeout fails soon, the server's cause in its message."""
    pipeline = PipelineAssetConfig(name="slow", query=query)
    storage = storage_resource(str(tmp_path / "lake"))
    for engine in engines:
        started = time.monotonic()
        with pytest.raises(Exception) as raised:
            list(run_extract("t1", pipeline, source(url, engine, statement_timeout_s=2),
                             storage, None))
        elapsed = time.monotonic() - started
        assert elapsed < 20, (engine, elapsed)
        assert cause in str(raised.value).lower(), (engine, str(raised.value))
