"""Range runs on the embedded defaults: one run over many days does what day-by-day runs do.

Each test seeds a tenant's SQLite source in its own folder and runs ``daily_etl_job`` through
Dagster, over single days and over ranges, then compares the lake files, the warehouse rows,
the per-day materializations and the per-day check results.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from etl import build_tenant_definitions, naming
from etl.config.tenant_config import PipelineAssetConfig
from etl.stages.extract import run_extract
from etl.stages.load import run_load
from etl.utils.days import day_range
from tests.helpers import (
    copy_tenants,
    duckdb_warehouse,
    seed_tenant,
    source_resource,
    storage_resource,
)

TENANT = "default"
TABLES = ("work_order", "production_result", "quality_inspection")
DAYS = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(6)]
QUERY_PIPELINE = """
    - name: production_q
      query: SELECT id, item_code, produced_qty, produced_at FROM production_result
      date_column: produced_at
      save_to_trino: true
"""


def tenant(tmp: Path, days: list[dt.date] = DAYS, extra: str = QUERY_PIPELINE,
           batch_size: int | None = None) -> dg.Definitions:
    tenants = copy_tenants(tmp, (TENANT,))
    config = tenants / TENANT / "config.yaml"
    text = config.read_text() + "assets:\n  pipelines:\n" + extra
    if batch_size is not None:
        text = text.replace("source:\n", f"source:\n  batch_size: {batch_size}\n")
    config.write_text(text)
    seed_tenant(tmp, TENANT, tuple(days))
    return build_tenant_definitions(TENANT, tenants_dir=tenants)


def run(defs: dg.Definitions, days: list[str], instance: dg.DagsterInstance,
        job: str = naming.DAILY_ETL_JOB, ok: bool = True) -> dg.ExecuteInProcessResult:
    tags = ({naming.PARTITION_TAG: days[0]} if len(days) == 1 else
            {naming.RANGE_START_TAG: days[0], naming.RANGE_END_TAG: days[-1]})
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, tags=tags, raise_on_error=False)
    assert result.success is ok, [str(e.step_failure_data.error) for e in result.all_events
                                  if e.is_step_failure]
    return result


def keys(days: list[dt.date]) -> list[str]:
    return [d.isoformat() for d in days]


def lake_file(tmp: Path, stage: str, pipeline: str, day: str) -> Path:
    return tmp / ".etl/lake" / naming.data_file_path(TENANT, stage, pipeline, day)  # type: ignore[arg-type]


def warehouse_rows(tmp: Path, table: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp / ".etl/warehouse.duckdb"), read_only=True) as con:
        return con.sql(f'SELECT * FROM "{TENANT}"."{table}" ORDER BY ALL').fetchall()


def test_a_range_run_gives_what_day_by_day_runs_give(tmp_path: Path) -> None:
    by_day, by_range = tmp_path / "by_day", tmp_path / "by_range"
    instance = dg.DagsterInstance.ephemeral()
    day_defs, range_defs = tenant(by_day), tenant(by_range)
    for day in keys(DAYS):
        run(day_defs, [day], instance)
    result = run(range_defs, keys(DAYS), instance)
    for pipeline in (*TABLES, "production_q"):
        stages = ("extract",) if pipeline == "production_q" else ("extract", "transfer")
        for stage in stages:
            for day in keys(DAYS):
                one, many = (pq.read_table(lake_file(t, stage, pipeline, day))
                             for t in (by_day, by_range))
                assert one.num_rows > 0 and one.equals(many), (pipeline, stage, day)
        assert warehouse_rows(by_day, pipeline) == warehouse_rows(by_range, pipeline)
    # One materialization per asset and day, one result per check and day.
    mats = result.get_asset_materialization_events()
    assert len(mats) == len(DAYS) * (3 * 3 + 2)
    checks = result.get_asset_check_evaluations()
    assert sorted((c.asset_key.path[-1], c.partition) for c in checks
                  if c.check_name == naming.RECONCILE_CHECK) == sorted(
        (p, d) for p in (*TABLES, "production_q") for d in keys(DAYS))
    keyed = sorted((c.asset_key.path[1], c.asset_key.path[-1], c.partition) for c in checks
                   if c.check_name == naming.PRIMARY_KEY_UNIQUE_CHECK)
    assert keyed == sorted(("transfer", p, d) for p in TABLES for d in keys(DAYS))
    assert all(c.passed for c in checks)


def test_every_day_of_a_range_is_recorded_with_its_own_rows(tmp_path: Path) -> None:
    defs = tenant(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    run(defs, keys(DAYS), instance)
    key = naming.asset_key(TENANT, "extract", "work_order")
    assert instance.get_materialized_partitions(key) == set(keys(DAYS))
    engine = sa.create_engine(f"sqlite:///{tmp_path}/.etl/sources/{TENANT}.db")
    with engine.connect() as conn:
        per_day = dict(conn.execute(sa.text(
            "SELECT substr(created_at, 1, 10), count(*) FROM work_order GROUP BY 1")).all())
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key),
                                              limit=100).records
    for record in records:
        mat = record.asset_materialization
        assert mat is not None and mat.partition is not None
        assert mat.metadata["dagster/row_count"].value == per_day[mat.partition]
    check = dg.AssetCheckKey(naming.asset_key(TENANT, "load", "work_order"),
                             naming.RECONCILE_CHECK)
    history = instance.event_log_storage.get_asset_check_execution_history(check, limit=100)
    assert sorted(h.partition for h in history) == sorted(keys(DAYS))  # no phantom rows


def test_days_without_rows_get_an_empty_file_and_an_empty_warehouse_day(tmp_path: Path) -> None:
    gap = DAYS[2]
    defs = tenant(tmp_path, [d for d in DAYS if d != gap])
    instance = dg.DagsterInstance.ephemeral()
    run(defs, keys(DAYS), instance)
    empty = pq.read_table(lake_file(tmp_path, "extract", "work_order", gap.isoformat()))
    assert empty.num_rows == 0
    full = pq.read_table(lake_file(tmp_path, "extract", "work_order", DAYS[0].isoformat()))
    assert empty.schema == full.schema
    key = naming.asset_key(TENANT, "load", "work_order")
    assert gap.isoformat() in instance.get_materialized_partitions(key)
    warehouse = duckdb_warehouse(tmp_path / ".etl/warehouse.duckdb", TENANT)
    assert warehouse.count_days("work_order", keys(DAYS), None)[gap.isoformat()] == 0


def test_a_day_whose_rows_are_gone_is_emptied_by_a_rerun(tmp_path: Path) -> None:
    defs = tenant(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    run(defs, keys(DAYS), instance)
    engine = sa.create_engine(f"sqlite:///{tmp_path}/.etl/sources/{TENANT}.db")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM work_order WHERE substr(created_at, 1, 10) = :d"),
                     {"d": DAYS[1].isoformat()})
    run(defs, keys(DAYS[:3]), instance)
    warehouse = duckdb_warehouse(tmp_path / ".etl/warehouse.duckdb", TENANT)
    counts = warehouse.count_days("work_order", keys(DAYS), None)
    assert counts[DAYS[1].isoformat()] == 0 and counts[DAYS[0].isoformat()] > 0


def test_an_overlapping_range_replaces_and_never_duplicates(tmp_path: Path) -> None:
    defs = tenant(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    run(defs, keys(DAYS[:4]), instance)
    once = warehouse_rows(tmp_path, "work_order")
    run(defs, keys(DAYS[2:]), instance)
    run(defs, keys(DAYS[2:4]), instance)
    again = warehouse_rows(tmp_path, "work_order")
    assert len(again) == len(set(again))
    assert [r for r in again if r[-1] <= DAYS[3]] == once


def test_a_failure_mid_range_is_reported_per_day_and_a_rerun_completes_it(tmp_path: Path) -> None:
    days = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(30)]
    defs = tenant(tmp_path, days, extra="", batch_size=1000)  # 40 orders a day: 25 days a batch
    engine = sa.create_engine(f"sqlite:///{tmp_path}/.etl/sources/{TENANT}.db")
    bad_day = days[27]
    with engine.begin() as conn:  # a value the integer column cannot hold, on day 28 only
        conn.execute(sa.text(
            "UPDATE work_order SET planned_qty = 'many' WHERE id = (SELECT min(id) FROM "
            "work_order WHERE substr(created_at, 1, 10) = :d)"), {"d": bad_day.isoformat()})
    instance = dg.DagsterInstance.ephemeral()
    result = run(defs, keys(days), instance, ok=False)
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.error)
    assert "1 of 3 pipeline(s) of tenant 'default' failed [2026-03-01..2026-03-30]" in message
    extracted = instance.get_materialized_partitions(
        naming.asset_key(TENANT, "extract", "work_order"))
    loaded = instance.get_materialized_partitions(naming.asset_key(TENANT, "load", "work_order"))
    assert extracted == loaded and 0 < len(extracted) < len(days)
    missing = sorted(set(keys(days)) - extracted)
    assert f"extract of default/work_order [{len(missing)} days: {missing[0]}..{missing[-1]}]" \
        in message
    assert "values do not fit int64" in message
    assert bad_day.isoformat() in missing
    # The other pipelines did every day; the days written stay correct.
    for other in ("production_result", "quality_inspection"):
        key = naming.asset_key(TENANT, "load", other)
        assert instance.get_materialized_partitions(key) == set(keys(days))
    warehouse = duckdb_warehouse(tmp_path / ".etl/warehouse.duckdb", TENANT)
    with engine.connect() as conn:
        source = dict(conn.execute(sa.text(
            "SELECT substr(created_at, 1, 10), count(*) FROM work_order GROUP BY 1")).all())
    assert {d: n for d, n in warehouse.count_days("work_order", keys(days), None).items()
            if d in extracted} == {d: source[d] for d in extracted}
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE work_order SET planned_qty = 1 WHERE planned_qty = 'many'"))
    run(defs, keys(days), instance)
    assert warehouse.count_days("work_order", keys(days), None) == {d: source[d]
                                                                    for d in keys(days)}


def test_warehouse_statements_of_a_load_do_not_grow_with_its_days(tmp_path: Path) -> None:
    days = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(20)]
    seed_tenant(tmp_path, "t1", tuple(days))
    source = source_resource(f"sqlite:///{tmp_path}/.etl/sources/t1.db", batch_size=1000)
    storage = storage_resource(str(tmp_path / "lake"))
    warehouse = duckdb_warehouse(tmp_path / "wh.duckdb", "t1")
    pipeline = PipelineAssetConfig(name="work_order", table="work_order",
                                   date_column="created_at", save_to_trino=True)
    list(run_extract("t1", pipeline, source, storage, keys(days), days_per_scan=7))
    first = run_load("t1", pipeline, storage, warehouse, keys(days[:2]))  # creates the table
    few = run_load("t1", pipeline, storage, warehouse, keys(days[:2]))
    many = run_load("t1", pipeline, storage, warehouse, keys(days))
    with warehouse.connect(read_only=True) as con:  # the source's NOT NULL columns, and dt
        required = {name for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = "
            "'work_order' AND is_nullable = 'NO'").fetchall()}
    assert {"id", "dt"} <= required
    # Creating the table: CREATE and one SET NOT NULL per column; later loads look them up once.
    assert first.statements == few.statements + len(required)
    assert few.statements == many.statements > 0
    assert len(many.outcomes) == 20 and all(c.passed for c in many.checks.values())


def test_lookback_picks_up_late_and_changed_rows(tmp_path: Path) -> None:
    today = dt.date(2026, 3, 8)
    days = [today - dt.timedelta(days=i) for i in range(7, 0, -1)]
    tenants = copy_tenants(tmp_path, (TENANT,))
    config = tenants / TENANT / "config.yaml"
    config.write_text(config.read_text().replace("  start_date:", "  lookback_days: 3\n"
                                                 "  start_date:"))
    seed_tenant(tmp_path, TENANT, tuple(days))
    defs = build_tenant_definitions(TENANT, tenants_dir=tenants)
    instance = dg.DagsterInstance.ephemeral()
    schedule = defs.get_schedule_def("daily_etl_schedule")
    tick = dt.datetime(2026, 3, 8, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    (request,) = schedule.evaluate_tick(
        dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)).run_requests
    assert request.tags[naming.RANGE_START_TAG] == "2026-03-05"
    assert request.tags[naming.RANGE_END_TAG] == "2026-03-07"
    run(defs, day_range(dt.date(2026, 3, 5), dt.date(2026, 3, 7)), instance)
    engine = sa.create_engine(f"sqlite:///{tmp_path}/.etl/sources/{TENANT}.db")
    with engine.begin() as conn:  # a row arriving late for day 6, a correction on day 7
        conn.execute(sa.text(
            "INSERT INTO work_order SELECT id + 100000, order_no || '-late', item_code, "
            "line_code, planned_qty, status, due_date, created_at FROM work_order WHERE id = ("
            "SELECT min(id) FROM work_order WHERE substr(created_at, 1, 10) = '2026-03-06')"))
        changed = conn.execute(sa.text(
            "SELECT min(id) FROM work_order WHERE substr(created_at, 1, 10) = '2026-03-07'"
        )).scalar_one()
        conn.execute(sa.text("UPDATE work_order SET planned_qty = 99999 WHERE id = :i"),
                     {"i": changed})
    next_tick = tick + dt.timedelta(days=1)
    (request,) = schedule.evaluate_tick(dg.build_schedule_context(
        instance=instance, scheduled_execution_time=next_tick)).run_requests
    run(defs, day_range(dt.date.fromisoformat(request.tags[naming.RANGE_START_TAG]),
                        dt.date.fromisoformat(request.tags[naming.RANGE_END_TAG])), instance)
    rows = warehouse_rows(tmp_path, "work_order")
    assert sum(1 for r in rows if r[1].endswith("-late")) == 1
    assert [r[4] for r in rows if r[0] == changed] == [99999]
    with engine.connect() as conn:
        source = conn.execute(sa.text("SELECT count(*) FROM work_order WHERE created_at >= "
                                      "'2026-03-05'")).scalar_one()
    assert sum(1 for r in rows if r[-1] >= dt.date(2026, 3, 5)) == source


@pytest.mark.parametrize("lookback", [1, 4])
def test_the_schedule_requests_one_day_or_a_range(tmp_path: Path, lookback: int) -> None:
    tenants = copy_tenants(tmp_path, (TENANT,))
    config = tenants / TENANT / "config.yaml"
    config.write_text(config.read_text().replace(
        "  start_date:", f"  lookback_days: {lookback}\n  start_date:"))
    defs = build_tenant_definitions(TENANT, tenants_dir=tenants)
    schedule = defs.get_schedule_def("daily_etl_schedule")
    tick = dt.datetime(2026, 1, 2, 17, 0, tzinfo=dt.UTC)  # 2026-01-03 02:00 in Seoul
    (request,) = schedule.evaluate_tick(dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=defs.get_repository_def())).run_requests
    if lookback == 1:
        assert request.partition_key == "2026-01-02"
    else:  # never before start_date (2026-01-01)
        assert (request.tags[naming.RANGE_START_TAG], request.tags[naming.RANGE_END_TAG]) == (
            "2026-01-01", "2026-01-02")
