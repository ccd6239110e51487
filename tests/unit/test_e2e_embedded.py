"""End to end on the embedded defaults: two days and the master sync for both sample tenants."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from etl import build_tenant_definitions
from tests.helpers import DAYS, copy_tenants, duckdb_warehouse, run_job, seed_tenant

TABLES = ("work_order", "production_result", "quality_inspection")


def test_daily_and_master_jobs_match_source_counts_and_reruns_are_idempotent(
    tmp_path: Path,
) -> None:
    tenants_dir = copy_tenants(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    warehouse_file = tmp_path / ".etl" / "warehouse.duckdb"
    for tenant in ("default", "project_01"):
        summary = seed_tenant(tmp_path, tenant)
        defs = build_tenant_definitions(tenant, tenants_dir=tenants_dir)
        for day in DAYS:
            result = run_job(defs, "daily_etl_job", day.isoformat(), instance)
            assert len(result.get_asset_materialization_events()) == 9
            checks = result.get_asset_check_evaluations()
            # Row count and primary key of each pipeline, and project_01's own three rules.
            assert len(checks) == 9 + 3 * (tenant == "project_01")
            assert all(c.passed for c in checks)
        warehouse = duckdb_warehouse(warehouse_file, tenant)
        for table in TABLES:
            for day in DAYS:
                key = day.isoformat()
                assert warehouse.count_days(table, [key], None)[key] == summary.rows(table, key)
                extract = tmp_path / ".etl/lake" / tenant / "extract" / table / f"dt={key}"
                assert pq.read_metadata(extract / "data.parquet").num_rows == summary.rows(
                    table, key)
        # Rerunning a day replaces it: same counts, no duplicates.
        run_job(defs, "daily_etl_job", DAYS[0].isoformat(), instance)
        first = DAYS[0].isoformat()
        for table in TABLES:
            assert warehouse.count_days(table, [first], None)[first] == summary.rows(table, first)
        if tenant == "project_01":
            for _ in range(2):
                result = run_job(defs, "master_sync_job", None, instance)
                assert warehouse.count_all("cfg_item_master", None) == summary.items
            latest = tmp_path / ".etl/lake/project_01/extract/cfg_item_master/latest/data.parquet"
            assert pq.read_metadata(latest).num_rows == summary.items
            custom = pq.read_table(
                tmp_path / f".etl/lake/project_01/transfer/production_result/dt={DAYS[0]}"
                / "data.parquet")
            assert {"good_qty", "defect_rate"} <= set(custom.column_names)


def test_stage_job_reruns_only_its_stage(tmp_path: Path) -> None:
    tenants_dir = copy_tenants(tmp_path, ("default",))
    seed_tenant(tmp_path, "default")
    instance = dg.DagsterInstance.ephemeral()
    defs = build_tenant_definitions("default", tenants_dir=tenants_dir)
    key = DAYS[0].isoformat()
    run_job(defs, "extract_job", key, instance)
    run_job(defs, "transfer_job", key, instance)
    result = run_job(defs, "load_job", key, instance)
    keys = {tuple(e.asset_key.path) for e in result.get_asset_materialization_events()}
    assert keys == {("default", "load", t) for t in TABLES}


def test_a_failing_pipeline_does_not_stop_the_others(tmp_path: Path) -> None:
    tenants_dir = copy_tenants(tmp_path, ("default",))
    config = tenants_dir / "default" / "config.yaml"
    config.write_text(config.read_text() + (
        "assets:\n  pipelines:\n    - name: quality_inspection\n      table: qc_missing\n"))
    seed_tenant(tmp_path, "default")
    defs = build_tenant_definitions("default", tenants_dir=tenants_dir)
    result = defs.resolve_job_def("daily_etl_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), partition_key=DAYS[0].isoformat(),
        raise_on_error=False)
    assert not result.success
    done = {tuple(e.asset_key.path) for e in result.get_asset_materialization_events()}
    assert done == {("default", s, p) for s in ("extract", "transfer", "load")
                    for p in ("work_order", "production_result")}
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.error)
    assert "1 of 3 pipeline(s) of tenant 'default' failed" in message
    assert (f"extract of default/quality_inspection [{DAYS[0].isoformat()}]: SourceError: table "
            "'qc_missing' does not exist in the source") in message
