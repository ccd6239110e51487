"""What the Dagster UI shows for each day, read through its GraphQL API as the UI reads it.

A range run with a day whose blocking check fails, a day whose extract fails, a single day:
each day's asset and check states on the partition bars and the check's *Partitions* tab, and
the job the runs carry.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from etl import naming
from etl.cli.main import main
from etl.runs.launch import CodeLocation
from tests.helpers import copy_tenants, seed_tenant
from tests.ui import UI, workspace_ui

TENANT = "project_01"
TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()  # the tenant's zone: Seoul
DAYS = tuple((TODAY - dt.timedelta(days=i)).isoformat() for i in (3, 2, 1))
PIPELINES = ("work_order", "production_result", "quality_inspection")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tenants = copy_tenants(tmp_path, (TENANT,))
    seed_tenant(tmp_path, TENANT, tuple(dt.date.fromisoformat(d) for d in DAYS))
    monkeypatch.setenv("ETL_TENANTS_DIR", str(tenants))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def ui(home: Path) -> Iterator[UI]:
    with dg.DagsterInstance.get() as instance, \
            workspace_ui(instance, CodeLocation.of_tenant(TENANT)) as found:
        yield found


def source(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / ".etl" / "sources" / f"{TENANT}.db")


def more_defects_than_output(home: Path, day: str) -> None:
    """One production result of ``day`` rejects more than it made: the blocking
    ``defects_within_output`` check fails on that day only."""
    with source(home) as db:
        db.execute("UPDATE production_result SET defect_qty = produced_qty + 1 WHERE id = "
                   "(SELECT min(id) FROM production_result WHERE date(produced_at) = ?)", (day,))


def key(stage: naming.Stage, pipeline: str) -> dg.AssetKey:
    return naming.asset_key(TENANT, stage, pipeline)


def test_a_range_shows_each_day_and_each_check_as_it_is(home: Path, ui: UI) -> None:
    more_defects_than_output(home, DAYS[1])
    assert main(["backfill", TENANT, "--from", DAYS[0], "--to", DAYS[-1]]) == 1

    blocking = naming.check_key(TENANT, "transfer", "production_result", "defects_within_output")
    assert ui.check_days(blocking, DAYS) == {DAYS[0]: "SUCCEEDED", DAYS[1]: "FAILED",
                                             DAYS[2]: "SUCCEEDED"}
    assert ui.asset_days(key("load", "production_result"), DAYS) == {
        DAYS[0]: "MATERIALIZED", DAYS[1]: "FAILED", DAYS[2]: "MATERIALIZED"}
    assert set(ui.asset_days(key("transfer", "production_result"), DAYS).values()) == {
        "MATERIALIZED"}
    for pipeline in PIPELINES:  # every other check and day passed, and counts as that day's
        checks = [naming.check_key(TENANT, "load", pipeline, naming.RECONCILE_CHECK),
                  naming.check_key(TENANT, "transfer", pipeline,
                                   naming.PRIMARY_KEY_UNIQUE_CHECK)]
        for check in checks:
            states = ui.check_days(check, DAYS)
            if pipeline == "production_result" and check.asset_key.path[1] == "load":
                # Not loaded, so never compared: its run ended before it could be.
                assert states[DAYS[1]] == "EXECUTION_FAILED"
                states.pop(DAYS[1])
            assert set(states.values()) == {"SUCCEEDED"}, (check, states)


def test_a_failed_day_keeps_its_data_and_shows_failed_until_it_loads(
        home: Path, ui: UI) -> None:
    assert main(["backfill", TENANT, "--from", DAYS[0], "--to", DAYS[-1]]) == 0
    more_defects_than_output(home, DAYS[1])
    assert main(["run", TENANT, "daily_etl_job", "--day", DAYS[1]]) == 1
    load = key("load", "production_result")
    assert ui.asset_days(load, DAYS)[DAYS[1]] == "FAILED"
    with source(home) as db:  # fixed at the source: the next run loads it
        db.execute("UPDATE production_result SET defect_qty = 0 WHERE defect_qty > produced_qty")
    assert main(["run", TENANT, "daily_etl_job", "--day", DAYS[1]]) == 0
    assert set(ui.asset_days(load, DAYS).values()) == {"MATERIALIZED"}


def test_a_day_whose_extract_fails_is_failed_for_its_stages(home: Path, ui: UI) -> None:
    assert main(["backfill", TENANT, "--from", DAYS[0], "--to", DAYS[1]]) == 0
    (home / ".etl" / "sources" / f"{TENANT}.db").rename(home / "moved.db")
    assert main(["run", TENANT, "daily_etl_job", "--day", DAYS[2]]) == 1
    for stage in naming.STAGES:
        assert ui.asset_days(key(stage, "work_order"), DAYS) == {
            DAYS[0]: "MATERIALIZED", DAYS[1]: "MATERIALIZED", DAYS[2]: "FAILED"}, stage


def test_a_single_day_counts_its_check_results_as_that_days(home: Path, ui: UI) -> None:
    assert main(["run", TENANT, "daily_etl_job", "--day", DAYS[2]]) == 0
    for pipeline in PIPELINES:
        check = naming.check_key(TENANT, "load", pipeline, naming.RECONCILE_CHECK)
        assert ui.check_days(check, DAYS) == {DAYS[0]: "MISSING", DAYS[1]: "MISSING",
                                              DAYS[2]: "SUCCEEDED"}


def test_a_clean_run_logs_no_warning_of_missing_outputs(home: Path) -> None:
    assert main(["backfill", TENANT, "--from", DAYS[0], "--to", DAYS[-1]]) == 0
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        logs = [r.event_log_entry.user_message
                for r in instance.get_records_for_run(run.run_id).records]
    assert not [m for m in logs if "did not yield or return expected outputs" in m]


def test_status_says_what_each_pipeline_has(home: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    more_defects_than_output(home, DAYS[1])
    assert main(["backfill", TENANT, "--from", DAYS[0], "--to", DAYS[-1]]) == 1
    capsys.readouterr()
    assert main(["status", TENANT, "--days", "3"]) == 0
    table = capsys.readouterr().out.splitlines()
    (row,) = [line for line in table if "production_result" in line]
    bad = DAYS[1][5:]
    assert row.split()[:3] == [TENANT, "production_result", DAYS[2]]
    assert f"load 1 ({bad})" in row and f"defects_within_output 1 ({bad})" in row
    assert main(["status", TENANT, "--days", "3", "--json"]) == 0
    found = {s["pipeline"]: s for s in json.loads(capsys.readouterr().out)}
    assert found["production_result"]["failed"] == {"load": [DAYS[1]]}
    assert found["production_result"]["failing_checks"] == {"defects_within_output": [DAYS[1]]}
    assert found["work_order"]["failed"] == {} and found["work_order"]["missing"] == []
    assert found["work_order"]["last_day"] == DAYS[2]
    assert found["cfg_item_master"]["last_day"] is None  # master data never synced here


def test_submit_refuses_an_instance_without_a_daemon(home: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backfill", TENANT, "--from", DAYS[0], "--to", DAYS[-1], "--submit"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no dagster-daemon is running on the instance in ")
    assert "it has never run here" in err and err.count("\n") == 1
    with dg.DagsterInstance.get() as instance:
        assert not instance.get_backfills() and not instance.get_runs()


def test_an_instance_missing_its_database_variables_is_one_line(
        home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "instance", "--home", str(home / "deploy")]) == 0
    monkeypatch.setenv("DAGSTER_HOME", str(home / "deploy"))
    for name in ("DAGSTER_PG_HOST", "DAGSTER_PG_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    capsys.readouterr()
    assert main(["run", TENANT, "daily_etl_job", "--submit"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DAGSTER_PG_HOST" in err and "DAGSTER_PG_PASSWORD" in err
