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
from etl.demo.sample_db import SeedSummary
from etl.instance.private import CODE_VERSION_TAG, DATA_VERSION_TAG, get_input_event_pointer_tag
from etl.instance.storage import BatchingSqliteEventLogStorage
from etl.runs.home import dagster_home
from etl.runs.launch import CodeLocation
from tests.helpers import copy_tenants, seed_tenant
from tests.ui import UI, workspace_ui

TENANT = "project_01"
TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()  # the tenant's zone: Seoul
DAYS = tuple((TODAY - dt.timedelta(days=i)).isoformat() for i in (3, 2, 1))
PIPELINES = ("work_order", "production_result", "quality_inspection")


@pytest.fixture
def seeded(tmp_path: Path) -> SeedSummary:
    return seed_tenant(tmp_path, TENANT, tuple(dt.date.fromisoformat(d) for d in DAYS))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeded: SeedSummary) -> Path:
    tenants = copy_tenants(tmp_path, (TENANT,))
    monkeypatch.setenv("ETL_TENANTS_DIR", str(tenants))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    dagster_home()  # the home's dagster.yaml, as `etl` writes it: the UI reads the same storage
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def ui(home: Path) -> Iterator[UI]:
    with dg.DagsterInstance.get() as instance, \
            workspace_ui(instance, CodeLocation.of_tenant(TENANT)) as found:
        assert isinstance(instance.event_log_storage, BatchingSqliteEventLogStorage)
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


def assert_each_day_recorded(ui: UI, seeded: SeedSummary, pipeline: str, days: tuple[str, ...],
                             loaded: tuple[str, ...]) -> None:
    """Every stage has each day's own materialization in the UI, with the day's rows and the
    provenance tags naming the same day's event of the stage before it; the load only
    ``loaded``."""
    for stage in naming.STAGES:
        wanted = loaded if stage == "load" else days
        found = ui.materializations(key(stage, pipeline), days)
        assert sorted(found) == sorted(wanted), (stage, pipeline, sorted(found))
        (run_id,) = {day.run_id for day in found.values()}
        assert ui.run(run_id)["tags"], run_id
        for day, event in found.items():
            assert event.rows == seeded.rows(pipeline, day) > 0, (stage, pipeline, day)
            assert event.tags[CODE_VERSION_TAG] and event.tags[DATA_VERSION_TAG]
            if stage != naming.STAGES[0]:  # points at the same day's event of the stage before
                parent = key(naming.STAGES[naming.STAGES.index(stage) - 1], pipeline)
                assert event.tags[get_input_event_pointer_tag(parent)] == storage_id(parent, day)


def storage_id(asset: dg.AssetKey, day: str) -> str:
    with dg.DagsterInstance.get() as instance:
        (record,) = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[day]), limit=1).records
    return str(record.storage_id)


def test_a_range_shows_each_day_and_each_check_as_it_is(home: Path, ui: UI,
                                                        seeded: SeedSummary) -> None:
    more_defects_than_output(home, DAYS[1])
    assert main(["backfill", TENANT, "--from", DAYS[0], "--to", DAYS[-1]]) == 1
    for pipeline in PIPELINES:
        loaded = (DAYS[0], DAYS[2]) if pipeline == "production_result" else DAYS
        assert_each_day_recorded(ui, seeded, pipeline, DAYS, loaded)

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


def test_a_subset_of_the_daily_job_does_not_judge_the_source(home: Path) -> None:
    """A backfill of some pipelines submitted to the daemon runs the daily job subset to their
    assets, which selects every check of them, the reconcile's ``matches_source`` included:
    the step evaluates every other check and leaves that one to the reconcile job."""
    from etl import build_tenant_definitions

    defs = build_tenant_definitions(TENANT)
    keys = {key(stage, "work_order") for stage in naming.STAGES}
    job = defs.resolve_job_def(naming.DAILY_ETL_JOB).get_subset(asset_selection=keys)
    source = naming.check_key(TENANT, "extract", "work_order", naming.SOURCE_CHECK)
    assert source in job.asset_layer.asset_graph.asset_check_keys  # selected by the subset
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, partition_key=DAYS[2])
        assert result.success
        judged = {e.event_specific_data.asset_check_key.name for e in result.all_events
                  if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
                  and isinstance(e.event_specific_data, dg.AssetCheckEvaluation)}
        logs = [r.event_log_entry.user_message
                for r in instance.get_records_for_run(result.run_id).records]
    assert naming.PRIMARY_KEY_UNIQUE_CHECK in judged and naming.RECONCILE_CHECK in judged
    assert naming.SOURCE_CHECK not in judged, judged
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
