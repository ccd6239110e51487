"""Reconcile and heal on the sample tenant (SQLite: fingerprints hashed by the reader), read
back as the user meets them: the command's output and the UI's partition states (GraphQL).
And the rules underneath: how a day is judged, which days a heal takes, the zone offsets of
instants, the cursor's lower bound."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
from dagster._core.storage.dagster_run import RunsFilter

from etl import naming
from etl.cli.main import main
from etl.config.reconcile import ReconcileConfig
from etl.instance.healing import DayFinding, plan_heal
from etl.runs.launch import CodeLocation
from etl.sources.cursor import CursorFilter, mark_text
from etl.sources.dialects.registry import GENERIC
from etl.sources.fingerprint import Fingerprint, fold, utc_offsets
from etl.stages.reconcile import CHANGING, DIFFERS, EQUAL, judge
from tests.helpers import copy_tenants, seed_tenant
from tests.ui import UI, workspace_ui

TENANT = "project_01"
DAYS = tuple(dt.date(2026, 3, d).isoformat() for d in range(1, 6))
CHECK = naming.check_key(TENANT, "extract", "work_order", naming.SOURCE_CHECK)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tenants = copy_tenants(tmp_path, (TENANT,))
    seed_tenant(tmp_path, TENANT, tuple(dt.date.fromisoformat(d) for d in DAYS))
    monkeypatch.setenv("ETL_TENANTS_DIR", str(tenants))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["backfill", TENANT, "--from", DAYS[0], "--to", DAYS[-1]]) == 0
    return tmp_path


@pytest.fixture
def ui(home: Path) -> Iterator[UI]:
    with dg.DagsterInstance.get() as instance, \
            workspace_ui(instance, CodeLocation.of_tenant(TENANT)) as found:
        yield found


def change(home: Path, sql: str, day: str) -> None:
    with sqlite3.connect(home / ".etl" / "sources" / f"{TENANT}.db") as db:
        db.execute(sql, (day,))


def reconcile(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["reconcile", TENANT, "--from", DAYS[0], "--to", DAYS[-1], *extra])
    return code, capsys.readouterr().out


def test_drift_is_reported_then_healed_in_one_run_of_those_days(
        home: Path, ui: UI, capsys: pytest.CaptureFixture[str]) -> None:
    change(home, "UPDATE work_order SET status = 'HOLD' WHERE id = (SELECT min(id) FROM "
                 "work_order WHERE date(created_at) = ?)", DAYS[1])
    change(home, "DELETE FROM work_order WHERE id = (SELECT max(id) FROM work_order WHERE "
                 "date(created_at) = ?)", DAYS[4])
    code, out = reconcile(capsys)
    assert code == 1
    assert "work_order                    5 day(s) checked, 3 equal, 2 differ" in out
    assert f"{DAYS[4]}  differs   39 row(s) at the source now, 40 loaded" in out
    assert "production_result             5 day(s) checked, 5 equal, 0 differ" in out
    assert ui.check_days(CHECK, DAYS) == {d: "FAILED" if d in (DAYS[1], DAYS[4]) else
                                          "SUCCEEDED" for d in DAYS}
    row_count = naming.check_key(TENANT, "load", "work_order", naming.RECONCILE_CHECK)
    assert set(ui.check_days(row_count, DAYS).values()) == {"SUCCEEDED"}

    code, out = reconcile(capsys, "--heal")
    assert code == 0, out
    assert "healing 2 day(s) of work_order in one run" in out
    assert f"daily_etl_job [{DAYS[1]}..{DAYS[4]}]: 2/2 day(s)" in out
    with dg.DagsterInstance.get() as instance:
        (heal,) = instance.get_runs(filters=RunsFilter(tags={naming.REASON_TAG: "heal"}))
    assert ui.run(heal.run_id)["status"] == "SUCCESS"
    assert heal.tags[naming.DAYS_TAG] == f"{DAYS[1]},{DAYS[4]}"
    with dg.DagsterInstance.get() as instance:  # one planned event per asset, not per day
        planned = instance.get_records_for_run(
            heal.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED).records
    assert len(planned) == 3 and {r.event_log_entry.dagster_event.partition  # type: ignore
                                  for r in planned} == {None}
    # The days between the healed ones were not touched, and keep what they showed.
    for stage in naming.STAGES:
        key = naming.asset_key(TENANT, stage, "work_order")
        assert set(ui.asset_days(key, DAYS).values()) == {"MATERIALIZED"}, stage
    assert set(ui.check_days(row_count, DAYS).values()) == {"SUCCEEDED"}
    assert set(ui.check_days(CHECK, DAYS).values()) == {"SUCCEEDED"}
    assert reconcile(capsys)[0] == 0


def test_a_day_still_being_written_is_reported_not_healed(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "UPDATE work_order SET planned_qty = planned_qty + 1 WHERE date(created_at) = ?"
    change(home, sql, DAYS[2])
    assert reconcile(capsys)[0] == 1
    change(home, sql, DAYS[2])  # changed again since that reconcile
    code, out = reconcile(capsys, "--heal")
    assert code == 1 and f"{DAYS[2]}  changing" in out
    assert f"not healed: work_order {DAYS[2]} is still being written" in out
    assert "no day to heal" in out
    code, out = reconcile(capsys, "--heal")  # it held still: healed
    assert code == 0 and "healing 1 day(s) of work_order" in out, out


def test_a_day_is_judged_by_rows_checksum_and_the_last_finding() -> None:
    stored = {"dagster/row_count": 40, naming.SOURCE_ROWS: 40, naming.SOURCE_CHECKSUM: "77",
              naming.SOURCE_FINGERPRINT_OF: "all columns"}
    assert judge(Fingerprint(40, "77"), stored, None, "all columns").status == EQUAL
    assert judge(Fingerprint(40, "78"), stored, None, "all columns").status == DIFFERS
    assert judge(Fingerprint(39, "70"), stored, None, "all columns").status == DIFFERS
    other = judge(Fingerprint(40, "77"), stored, None, "id, updated_at")
    assert other.status == DIFFERS and "No fingerprint of id, updated_at" in other.text
    moved = {**stored, naming.SOURCE_CHANGING: True}
    assert "changed while this day was extracted" in judge(
        Fingerprint(40, "77"), moved, None, "all columns").text
    assert judge(Fingerprint(0, "0"), None, None, "all columns").status == EQUAL
    assert judge(Fingerprint(3, "9"), None, None, "all columns").status == DIFFERS
    last = {"reconcile_status": DIFFERS, naming.SOURCE_ROWS: 40, naming.SOURCE_CHECKSUM: "78"}
    assert judge(Fingerprint(40, "78"), stored, last, "all columns").status == DIFFERS
    assert judge(Fingerprint(40, "79"), stored, last, "all columns").status == CHANGING


def test_a_heal_takes_the_oldest_differing_days_up_to_its_limit() -> None:
    found = [DayFinding("a", "2026-03-03", DIFFERS, 1, 1, ""),
             DayFinding("b", "2026-03-01", DIFFERS, 1, 1, ""),
             DayFinding("b", "2026-03-05", DIFFERS, 1, 1, ""),
             DayFinding("a", "2026-03-02", CHANGING, 1, 1, ""),
             DayFinding("a", "2026-03-04", EQUAL, 1, 1, "")]
    plan = plan_heal(found, 2)
    assert plan.days == ("2026-03-01", "2026-03-03") and plan.pipelines == ("a", "b")
    assert plan.left == ("2026-03-05",) and [f.day for f in plan.changing] == ["2026-03-02"]
    tags = plan.tags("r1")
    assert tags[naming.DAYS_TAG] == "2026-03-01,2026-03-03" and tags[naming.REASON_TAG] == "heal"
    assert naming.RANGE_START_TAG not in tags and naming.PARTITION_TAG not in tags


def test_instants_of_a_zone_with_summer_time_fall_on_its_days() -> None:
    start = dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC)
    end = dt.datetime(2026, 10, 26, 23, tzinfo=dt.UTC)
    offsets = utc_offsets("Europe/Berlin", start, end)
    assert offsets == [(start, 60), (dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC), 120),
                       (dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC), 60)]
    assert utc_offsets("Asia/Seoul", start, end) == [(start, 540)]
    zone = dt.timezone(dt.timedelta(hours=2))
    rows = [(dt.datetime(2026, 3, 29, 23, 30, tzinfo=dt.UTC), 1, "x"),
            (dt.datetime(2026, 3, 30, 0, 30, tzinfo=zone), 2, None)]
    found = fold(rows, "Europe/Berlin")
    assert found["2026-03-30"].rows == 2 and found == fold(list(reversed(rows)),
                                                           "Europe/Berlin")


def test_the_cursor_goes_back_by_the_lag_in_the_column_kind() -> None:
    mark = mark_text(dt.datetime(2026, 3, 1, 12, 0, 30))
    assert CursorFilter("u", mark, 60, True).bound(pa.timestamp("us"), GENERIC) == \
        dt.datetime(2026, 3, 1, 11, 59, 30)
    aware = mark_text(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))
    assert CursorFilter("u", aware, 0, True).bound(pa.timestamp("us", "UTC"), GENERIC) == \
        dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    assert CursorFilter("v", "100", 5).bound(pa.int64(), GENERIC) == 95
    assert CursorFilter("d", "2026-03-01", 3600, True).bound(pa.date32(), GENERIC) == \
        dt.date(2026, 2, 28)
    with pytest.raises(Exception, match="write lag as a number"):
        CursorFilter("v", "100", 300, True).bound(pa.int64(), GENERIC)


def test_a_range_too_long_for_one_reconcile_run_is_refused_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A reconcile is one run, which holds at most 4,000 days (as a backfill's): more is
    refused before any run exists, and so is a longer reconcile.window_days."""
    monkeypatch.setenv("ETL_TENANTS_DIR", str(copy_tenants(tmp_path, (TENANT,))))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    capsys.readouterr()
    code = main(["reconcile", TENANT, "--from", "2000-01-01", "--to", "2026-01-01"])
    out = capsys.readouterr()
    assert code == 2 and (out.out + out.err).startswith(
        "error: 9,498 days (2000-01-01..2026-01-01) in one reconcile run; a run holds at most "
        "4,000 days"), out
    assert not any(tmp_path.glob("**/runs.db"))
    with pytest.raises(ValueError, match="less than or equal to 4000"):
        ReconcileConfig(window_days=4001)
