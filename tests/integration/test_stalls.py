"""A source server frozen in the middle of a range read fails the extract within
``source.read_timeout_s``, the stage tries again, and once the server is back every row lands
exactly once.

The session's PostgreSQL (postmaster and backends) or MariaDB is frozen with SIGSTOP right
after the first day's file of a four-day range is written, while most of the range has not
been sent: the server keeps the connection open and answers nothing, so its own
``statement_timeout`` cannot fire. The test thaws it after the first retry and checks that the
server is usable again and that no session of the abandoned read outlives it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from etl.config.runs import RetryConfig
from etl.config.tenant_config import PipelineAssetConfig
from etl.stages.step import StepInputs, run_pipelines
from tests.helpers import storage_resource
from tests.integration.source_support import ENGINES, execute, source
from tools.services.base import Service, frozen

READ_TIMEOUT_S = 5.0
SLACK_S = 10.0  # a loaded CI machine: thread scheduling, the batch in hand
BATCH_SIZE = 5_000  # a batch takes well under the timeout to fetch, even on a loaded machine
ROWS = 400_000  # ~50 MB: far more than the socket buffers hold when the server freezes
DAYS = ("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04")
FILL = {
    "postgres": (
        "CREATE TABLE big (id bigint PRIMARY KEY, at timestamp NOT NULL, pad varchar(100))",
        f"INSERT INTO big SELECT i, timestamp '2026-03-01' + (i - 1) * interval '1 second' "
        f"* (345600.0 / {ROWS}), repeat('x', 100) FROM generate_series(1, {ROWS}) AS i",
        "CREATE INDEX big_at ON big (at)",
    ),
    "mariadb": (
        "CREATE TABLE big (id bigint PRIMARY KEY, at datetime(6) NOT NULL, pad varchar(100))",
        f"INSERT INTO big SELECT seq, TIMESTAMP'2026-03-01 00:00:00' + INTERVAL "
        f"((seq - 1) * 345600 DIV {ROWS}) SECOND, REPEAT('x', 100) FROM seq_1_to_{ROWS}",
        "CREATE INDEX big_at ON big (at)",
    ),
}
OUR_SESSIONS = {
    "postgres": "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()",
    "mariadb": "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() "
               "AND ID <> CONNECTION_ID()",
}


class Watched:
    """Consumes the step on a thread, recording when each event and retry notice came."""

    def __init__(self, steps: Iterator[object], notices: list[tuple[float, str]]) -> None:
        self.events: list[tuple[float, object]] = []
        self.notices = notices
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._consume, args=(steps,), daemon=True)
        self.thread.start()

    def _consume(self, steps: Iterator[object]) -> None:
        try:
            for event in steps:
                self.events.append((time.monotonic(), event))
        except BaseException as e:
            self.error = e

    def wait_for_notice(self, timeout: float) -> tuple[float, str] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.notices:
            time.sleep(0.05)
        return self.notices[0] if self.notices else None


# PyMySQL's unbuffered result tries to read the rest of its rows when garbage-collected, after
# the cut connection has dropped its socket; it warns, nothing is lost.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("server", [pytest.param("postgres", marks=pytest.mark.postgres),
                                    pytest.param("mariadb", marks=pytest.mark.mariadb)])
def test_a_source_frozen_mid_range_fails_the_read_and_the_retry_loads_every_row(
        server: str, engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    svc: Service = request.getfixturevalue(f"{server}_server")
    url: str = request.getfixturevalue(f"{server}_db")
    execute(url, *FILL[server])
    pipeline = PipelineAssetConfig(name="big", table="big", date_column="at")
    reader = source(url, engine, read_timeout_s=READ_TIMEOUT_S, batch_size=BATCH_SIZE)
    inputs = StepInputs(
        tenant="t1", days=DAYS, selected=frozenset({dg.AssetKey(["t1", "extract", "big"])}),
        selected_checks=frozenset(), source=reader,
        storage=storage_resource(str(tmp_path / "lake")), warehouse=None, days_per_scan=366,
        retry=RetryConfig(attempts=5, initial_delay_s=0.5, max_delay_s=1.0),
    )
    notices: list[tuple[float, str]] = []
    steps = run_pipelines(inputs, [pipeline], {}, 1, dg.DagsterLogManager.create(loggers=[]),
                          lambda text: notices.append((time.monotonic(), text)))
    watched = Watched(steps, notices)
    lake = tmp_path / "lake" / "t1" / "extract" / "big"
    # The first day's file, not its event: a MySQL read through DuckDB's scanner reports its
    # days once the read has ended (their fingerprints are taken again after it).
    first = lake / f"dt={DAYS[0]}" / "data.parquet"
    deadline = time.monotonic() + 120
    while not first.exists() and watched.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.exists(), "the first day was never written"
    assert watched.error is None, watched.error
    with frozen(svc):
        stalled_at = time.monotonic()
        notice = watched.wait_for_notice(READ_TIMEOUT_S + SLACK_S + 30)
        assert notice is not None, "the frozen read never failed"
        waited = notice[0] - stalled_at
        text = notice[1]
    assert "source.read_timeout_s" in text and "timed out" in text and "try 2 of 5" in text, text
    # The clock starts when the reader asks for its next batch, which may be before the freeze.
    assert waited <= READ_TIMEOUT_S + SLACK_S, waited
    print(f"{server}-{engine}: failed {waited:.2f} s after the freeze")
    watched.thread.join(120)
    assert not watched.thread.is_alive() and watched.error is None, watched.error
    written = sorted(str(e.partition) for _, e in watched.events
                     if isinstance(e, dg.AssetMaterialization))
    assert written == list(DAYS)
    by_day = {d: pq.read_table(lake / f"dt={d}" / "data.parquet").column("id").to_pylist()
              for d in DAYS}
    ids = [i for day in DAYS for i in by_day[day]]
    assert len(ids) == ROWS and len(set(ids)) == ROWS  # every row exactly once
    assert all(len(by_day[d]) == ROWS // len(DAYS) for d in DAYS)
    _assert_usable_and_released(url, OUR_SESSIONS[server])


def _assert_usable_and_released(url: str, sessions: str) -> None:
    """The thawed server answers, and no session of the abandoned read lingers."""
    engine = sa.create_engine(url)
    try:
        deadline = time.monotonic() + 60
        while True:
            with engine.connect() as conn:
                left = conn.exec_driver_sql(sessions).scalar()
            if left == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert left == 0, f"{left} session(s) of the abandoned read are still open"
    finally:
        engine.dispose()
