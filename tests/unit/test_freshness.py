"""Freshness: deadlines in the tenant's time zone, the sensor's results per day, frozen time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.test_utils import freeze_time

from etl import build_tenant_definitions, naming
from etl.config.freshness import FreshnessConfig
from etl.config.schedule import ScheduleConfig
from etl.stages.freshness import Deadlines
from tests.helpers import DAYS, copy_tenants, seed_tenant

SEOUL = ZoneInfo("Asia/Seoul")
FIRST, SECOND = (d.isoformat() for d in DAYS)  # 2026-03-01, 2026-03-02
LOAD = dg.AssetKey(["default", "load", "work_order"])


def seoul(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=SEOUL)


def test_deadlines_follow_the_config_or_the_schedule() -> None:
    schedule = ScheduleConfig(cron="30 2 * * *", timezone="Asia/Seoul",
                              start_date=DAYS[0])
    derived = Deadlines(FreshnessConfig(), schedule)
    assert derived.of(FIRST) == seoul(2, 5).replace(minute=30)  # 02:30 run + 3 hours
    explicit = Deadlines(FreshnessConfig(deadline="06:00", days_after=2), schedule)
    assert explicit.of(FIRST) == seoul(3, 6)
    assert explicit.due(seoul(3, 6)) == [FIRST]
    assert explicit.due(seoul(3, 5)) == []
    assert "06:00 (Asia/Seoul) 2 days later" in explicit.describe()


def test_a_tick_walks_the_schedules_cron_once_per_day_whatever_the_pipelines_and_ticks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The sensor asks every pipeline's deadlines for every day of its window at every tick;
    the schedule's cron is walked once per day (it cost seconds a tick, for every tenant)."""
    from dagster._utils import schedules

    walked: list[float] = []
    original = schedules.cron_string_iterator

    def counting(start: float, *args: object, **kwargs: object) -> object:
        walked.append(start)
        return original(start, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(schedules, "cron_string_iterator", counting)
    schedule = ScheduleConfig(cron="17 4 * * *", timezone="Asia/Seoul", start_date=DAYS[0])
    pipelines = [Deadlines(FreshnessConfig(), schedule) for _ in range(27)]
    now = seoul(20, 12)
    for _ in range(3):  # ticks
        due = [d.due(now) for d in pipelines]
    assert due[0] and all(days == due[0] for days in due)
    assert len(walked) == len(set(walked)) > 0


@pytest.fixture
def defs(tmp_path: Path) -> dg.Definitions:
    tenants = copy_tenants(tmp_path, ("default",))
    config = tenants / "default" / "config.yaml"
    text = config.read_text().replace("start_date: 2026-01-01", f"start_date: {FIRST}")
    config.write_text(text + 'freshness:\n  deadline: "06:00"\n')
    seed_tenant(tmp_path, "default")
    return build_tenant_definitions("default", tenants_dir=tenants)


def tick(defs: dg.Definitions, instance: dg.DagsterInstance,
         at: dt.datetime) -> list[dg.AssetCheckEvaluation]:
    sensor = defs.get_repository_def().get_sensor_def(naming.FRESHNESS_SENSOR)
    with freeze_time(at):
        result = sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SensorResult)
    for event in result.asset_events or ():  # as the daemon does with a tick's events
        instance.report_runless_asset_event(event)
    return [e for e in result.asset_events or ()
            if isinstance(e, dg.AssetCheckEvaluation) and e.asset_key == LOAD]


def test_the_sensor_records_each_day_once_its_deadline_has_passed(defs: dg.Definitions) -> None:
    instance = dg.DagsterInstance.ephemeral()
    job = defs.resolve_job_def(naming.DAILY_ETL_JOB)
    with freeze_time(seoul(2, 4)):  # day one loaded at 04:00, before its 06:00 deadline
        job.execute_in_process(instance=instance, partition_key=FIRST)

    assert tick(defs, instance, seoul(2, 5)) == []  # nothing is due yet

    by_day = {e.partition: e for e in tick(defs, instance, seoul(3, 7))}
    assert set(by_day) == {FIRST, SECOND}
    assert by_day[FIRST].passed and by_day[FIRST].check_name == naming.FRESHNESS_CHECK
    assert by_day[FIRST].description == "loaded at 2026-03-02 04:00 KST, by 2026-03-02 06:00 KST"
    assert not by_day[SECOND].passed
    assert by_day[SECOND].severity == dg.AssetCheckSeverity.WARN
    assert by_day[SECOND].description == "not loaded by its deadline, 2026-03-03 06:00 KST"
    assert tick(defs, instance, seoul(3, 8)) == []  # each day is recorded once

    # The results are the check's, per day, as the asset page shows them.
    check = dg.AssetCheckKey(LOAD, naming.FRESHNESS_CHECK)
    infos = instance.event_log_storage.get_asset_check_partition_info([check])
    assert {i.partition_key: i.latest_execution_status.value for i in infos} == {
        FIRST: "SUCCEEDED", SECOND: "FAILED"}

    # Day two arrives two hours late; executing the check from the UI says so.
    with freeze_time(seoul(3, 8)):
        job.execute_in_process(instance=instance, partition_key=SECOND)
    assert tick(defs, instance, seoul(3, 9)) == []
    ui = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection={check})
    with freeze_time(seoul(3, 9)):
        (late,) = ui.execute_in_process(instance=instance, partition_key=SECOND
                                        ).get_asset_check_evaluations()
    assert late.partition == SECOND and not late.passed
    assert late.description == "loaded 2 h 00 min after its deadline, 2026-03-03 06:00 KST"
    assert late.metadata["late_by_minutes"].value == 120


def test_the_check_runs_from_the_ui_for_the_chosen_day(defs: dg.Definitions) -> None:
    instance = dg.DagsterInstance.ephemeral()
    with freeze_time(seoul(2, 4)):
        defs.resolve_job_def(naming.DAILY_ETL_JOB).execute_in_process(
            instance=instance, partition_key=FIRST)
    check = dg.AssetCheckKey(LOAD, naming.FRESHNESS_CHECK)
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection={check})
    with freeze_time(seoul(9, 12)):
        result = job.execute_in_process(instance=instance, partition_key=FIRST)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.partition == FIRST
    assert evaluation.metadata["state"].value == "on_time"


def test_runs_do_not_include_the_freshness_check(defs: dg.Definitions) -> None:
    job = defs.resolve_job_def(naming.DAILY_ETL_JOB)
    names = {k.name for k in job.asset_layer.asset_graph.asset_check_keys}
    assert naming.FRESHNESS_CHECK not in names and naming.RECONCILE_CHECK in names


def test_a_run_that_only_selected_the_check_leaves_the_day_to_the_sensor(
        defs: dg.Definitions) -> None:
    """A run selecting the check before the deadline skips it (planned, never evaluated): the
    sensor still judges that day once its deadline passes, and its tick says what it did."""
    instance = dg.DagsterInstance.ephemeral()
    everything = defs.resolve_implicit_global_asset_job_def()
    with freeze_time(seoul(2, 4)):  # assets and their checks, the freshness check included
        everything.execute_in_process(instance=instance, partition_key=FIRST)
    check = dg.AssetCheckKey(LOAD, naming.FRESHNESS_CHECK)
    (planned,) = instance.event_log_storage.get_asset_check_partition_info([check])
    assert planned.latest_execution_status.value == "PLANNED"
    sensor = defs.get_repository_def().get_sensor_def(naming.FRESHNESS_SENSOR)
    with freeze_time(seoul(2, 7)):
        result = sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SensorResult)
    (recorded,) = [e for e in result.asset_events or () if e.asset_key == LOAD]
    assert recorded.partition == FIRST and recorded.passed
    assert recorded.target_materialization_data is not None  # the day's materialization
    assert result.skip_reason is not None
    assert result.skip_reason.skip_message.startswith(
        f"recorded {naming.FRESHNESS_CHECK} for 3 day(s), 3 on time, 0 missed")
