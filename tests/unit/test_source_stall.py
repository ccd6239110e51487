"""A source that never answers fails the read within ``source.read_timeout_s``, as transient,
and ``etl run`` shows the retries on its console.

The "server" is a real listening socket that never accepts: the kernel completes the TCP
handshake and takes what the client sends, and nothing ever answers, which is what a frozen
database looks like from the client (``tests/integration/test_stalls.py`` freezes real
PostgreSQL and MariaDB servers in the middle of a read).
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config.tenant_config import PipelineAssetConfig
from etl.sources.errors import SourceError
from etl.sources.prefetch import Prefetcher
from etl.stages.extract import run_extract
from etl.stages.retries import is_transient
from tests.helpers import copy_tenants, source_resource, storage_resource

READ_TIMEOUT_S = 1.0


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port whose listener never accepts, reads or answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.mark.parametrize(("url", "engine"), [
    ("postgresql+psycopg://etl@127.0.0.1:{port}/db", "duckdb"),
    ("postgresql+psycopg://etl@127.0.0.1:{port}/db", "sqlalchemy"),
    ("mysql+pymysql://etl@127.0.0.1:{port}/db", "duckdb"),
    ("mysql+pymysql://etl@127.0.0.1:{port}/db", "sqlalchemy"),
])
def test_a_silent_source_fails_the_read_within_read_timeout(
        silent_port: int, url: str, engine: str, tmp_path: Path) -> None:
    source = source_resource(url.format(port=silent_port), password="not-used-here",
                             engine=engine, read_timeout_s=READ_TIMEOUT_S)
    pipeline = PipelineAssetConfig(name="p", table="t", date_column="d")
    started = time.monotonic()
    with pytest.raises(SourceError) as raised:
        list(run_extract("t1", pipeline, source, storage_resource(str(tmp_path)),
                         ["2026-03-01"]))
    elapsed = time.monotonic() - started
    assert elapsed < READ_TIMEOUT_S + 5, elapsed  # the driver's own connect timeout is 15 s
    message = str(raised.value)
    assert "timed out" in message and "source.read_timeout_s" in message, message
    assert is_transient(raised.value)
    assert "not-used-here" not in message


def test_a_stalled_batch_interrupts_the_read_and_abandons_what_does_not_return() -> None:
    """The consumer waits for each item at most the timeout, then interrupts the producer;
    a producer stuck where the interrupt cannot reach is left behind, not waited for."""
    release = threading.Event()
    interrupted = threading.Event()

    def stuck() -> Iterator[int]:
        yield 1
        release.wait(30)  # a driver blocked on a frozen server
        yield 2

    ahead = Prefetcher(stuck(), timeout_s=0.5, interrupt=interrupted.set,
                       stalled=lambda: SourceError("stalled"))
    items = iter(ahead)
    assert next(items) == 1
    started = time.monotonic()
    with pytest.raises(SourceError, match="stalled"):
        next(items)
    assert time.monotonic() - started < 2
    assert interrupted.is_set()
    assert ahead.close() is False  # still blocked: abandoned (a daemon thread), not waited for
    release.set()
    deadline = time.monotonic() + 5
    while not ahead.close() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ahead.close() is True  # it lets go of the source once the driver returns


def test_etl_run_shows_each_retry_on_its_console(
        silent_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from etl.cli.main import main

    tenants = copy_tenants(tmp_path, ("default",))
    config = tenants / "default" / "config.yaml"
    config.write_text(re.sub(
        r"  url: sqlite:.*", f"  url: postgresql+psycopg://etl@127.0.0.1:{silent_port}/mes\n"
        f"  read_timeout_s: {READ_TIMEOUT_S}\n  max_parallel: 1", config.read_text(),
    ) + "runs:\n  retry: {attempts: 2, initial_delay_s: 0.1, max_delay_s: 0.2}\n")
    monkeypatch.setenv("ETL_TENANTS_DIR", str(tenants))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.chdir(tmp_path)
    day = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    code = main(["run", "default", "extract_job", "--day", day])
    out = capsys.readouterr().out
    assert code == 1, out
    retry = (f"default extract_job [{day}]: extract of default/work_order [{day}]: transient "
             "failure (planning the read of 'work_order'")
    assert retry in out and "try 2 of 2 in" in out, out
    assert "source.read_timeout_s" in out.split("— FAILED in")[1], out  # the final cause too
