"""Transient failures are retried with backoff, from where the stage stopped; others are not."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from etl.config.runs import RetryConfig
from etl.config.tenant_config import PipelineAssetConfig
from etl.sources.errors import SourceError
from etl.stages.outcome import StageOutcome
from etl.stages.retries import backoff, is_transient, retrying
from etl.stages.step import PipelineFailures, StepInputs, run_pipelines
from etl.warehouse.base import WarehouseError
from etl.warehouse.trino.session import TrinoStatementError

FAST = RetryConfig(attempts=3, initial_delay_s=0.01, max_delay_s=0.02)


@pytest.mark.parametrize(("error", "transient"), [
    (SourceError("cannot connect to postgresql://etl@db:5432/mes: connection failed: "
                 "Connection refused"), True),
    (SourceError("reading 'work_order' failed: server closed the connection unexpectedly"), True),
    (SourceError("cannot connect to mysql://etl@db/mes: (2003, \"Can't connect to MySQL server "
                 "on 'db' (timed out)\")"), True),
    (OSError("When uploading part for key 'lake/x': AWS Error NETWORK_CONNECTION during "
             "UploadPart operation: curlCode: 28, Timeout was reached"), True),
    (OSError("When uploading part for key 'lake/x.parquet' in bucket 'b': AWS Error "
             "INTERNAL_FAILURE during UploadPart operation: "), True),
    (OSError("AWS Error SLOW_DOWN during PutObject operation: Please reduce your request rate"),
     True),
    (WarehouseError("counting rows: cannot reach Trino at http://trino:8080: [Errno 111] "
                    "Connection refused; is the coordinator running?"), True),
    (ConnectionResetError("peer reset"), True),
    (SourceError("cannot connect to postgresql://etl@db/mes: password authentication failed "
                 "for user \"etl\""), False),
    (SourceError("table 'nope' does not exist in the source"), False),
    (SourceError("column 'planned_qty': source values do not fit int64"), False),
    (TrinoStatementError("MERGE failed: SYNTAX_ERROR: line 1:8: mismatched input",
                         "SYNTAX_ERROR"), False),
    (ValueError("a transfer must return a DuckDB relation"), False),
])
def test_only_transient_failures_are_retried(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_a_chained_cause_counts() -> None:
    try:
        try:
            raise ConnectionRefusedError("refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("load failed") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    policy = RetryConfig(attempts=10, initial_delay_s=1, max_delay_s=8)
    for attempt, ceiling in ((1, 1), (2, 2), (3, 4), (4, 8), (7, 8)):
        waits = [backoff(policy, attempt) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), attempt
        assert len(set(waits)) > 1


def test_retrying_gives_up_after_the_attempts_and_never_on_a_permanent_error() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        raise ConnectionRefusedError("refused")

    lines: list[str] = []
    with pytest.raises(ConnectionRefusedError):
        retrying(flaky, FAST, "load of t/p", lines.append)
    assert len(calls) == 3 and len(lines) == 2 and "try 2 of 3" in lines[0]
    calls.clear()

    def broken() -> str:
        calls.append(1)
        raise SourceError("table 'x' does not exist in the source")

    with pytest.raises(SourceError):
        retrying(broken, FAST, "extract", lines.append)
    assert len(calls) == 1


def test_a_stopped_run_is_not_retried() -> None:
    stop = threading.Event()
    stop.set()
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        raise TimeoutError("timed out")

    with pytest.raises(TimeoutError):
        retrying(flaky, FAST, "extract", lambda _: None, stop)
    assert len(calls) == 1


DAYS = ("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04")


def _inputs(retry: RetryConfig = FAST) -> StepInputs:
    return StepInputs(
        tenant="t1", days=DAYS, selected=frozenset({dg.AssetKey(["t1", "extract", "p"])}),
        selected_checks=frozenset(), source=None, storage=None, warehouse=None, retry=retry,
    )


def _events(inputs: StepInputs) -> list[Any]:
    log = dg.DagsterLogManager.create(loggers=[])
    pipeline = PipelineAssetConfig(name="p", table="p", date_column="d")
    return list(run_pipelines(inputs, [pipeline], {}, 1, log))


def test_an_extract_resumes_after_a_transient_failure_at_the_first_day_not_done(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []

    def extract(tenant: str, pipeline: PipelineAssetConfig, source: Any, storage: Any,
                days: list[str], **_: Any) -> Iterator[tuple[str, StageOutcome]]:
        asked.append(list(days))
        for day in days:
            if day == "2026-03-03" and len(asked) == 1:
                raise SourceError("reading 'p' failed: server closed the connection unexpectedly")
            yield day, StageOutcome(rows=1, uri="mem", seconds=0.0)

    monkeypatch.setattr("etl.stages.extract.run_extract", extract)
    events = _events(_inputs())
    assert asked == [list(DAYS), ["2026-03-03", "2026-03-04"]]
    assert [e.partition for e in events] == list(DAYS)  # each day once


def test_a_permanent_extract_failure_fails_the_days_not_done(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []

    def extract(tenant: str, pipeline: PipelineAssetConfig, source: Any, storage: Any,
                days: list[str], **_: Any) -> Iterator[tuple[str, StageOutcome]]:
        asked.append(list(days))
        yield days[0], StageOutcome(rows=1, uri="mem", seconds=0.0)
        raise SourceError("column 'x': source values do not fit int64")

    monkeypatch.setattr("etl.stages.extract.run_extract", extract)
    with pytest.raises(PipelineFailures, match=r"extract of t1/p \[3 days: 2026-03-02\.\."
                                               r"2026-03-04\]: SourceError: column 'x'"):
        _events(_inputs())
    assert len(asked) == 1
