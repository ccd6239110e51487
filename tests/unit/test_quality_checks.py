"""Quality checks from config on the embedded defaults: results per day, samples, blocking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from etl import build_tenant_definitions, naming
from etl.stages.quality import SAMPLE_SIZE
from tests.helpers import DAYS, copy_tenants, duckdb_warehouse, seed_tenant

DAY = DAYS[0].isoformat()
# Every 10th work order twice: the primary key is not unique in this pipeline's extract.
PIPELINES = """\
assets:
  pipelines:
    - name: work_order
      sensitive_columns: [order_no]
      checks:
        rules:
          - {type: not_null, columns: [item_code, line_code]}
          - {type: accepted_values, column: status, values: [RELEASED, RUNNING, DONE]}
          - {type: row_count, min: 1, max: 100000}
          - {type: expression, name: qty_small, sql: "planned_qty < 50"}
          - {type: unique, columns: [order_no]}
          - {type: expression, name: broken, sql: "no_such_column > 0"}
    - name: wo_dupes
      query: SELECT * FROM work_order UNION ALL SELECT * FROM work_order WHERE id % 10 = 0
      date_column: created_at
      primary_key: [id]
      save_to_trino: true
    - name: wo_secret_key
      table: work_order
      date_column: created_at
      primary_key: [order_no]
      sensitive_columns: [ORDER_NO]
      checks:
        rules:
          - {type: expression, name: qty_small, sql: "planned_qty < 50"}
    - name: production_result
      enabled: false
    - name: quality_inspection
      enabled: false
"""


def tenant(tmp: Path, pipelines: str = PIPELINES) -> dg.Definitions:
    tenants = copy_tenants(tmp, ("default",))
    config = tenants / "default" / "config.yaml"
    config.write_text(config.read_text() + pipelines)
    seed_tenant(tmp, "default")
    return build_tenant_definitions("default", tenants_dir=tenants)


def evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], Any]:
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


def test_checks_report_counts_samples_and_a_failed_blocking_check_stops_the_load(
    tmp_path: Path,
) -> None:
    defs = tenant(tmp_path)
    result = defs.resolve_job_def("daily_etl_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), partition_key=DAY, raise_on_error=False)
    checks = evaluations(result)
    assert all(e.partition == DAY for e in checks.values())

    dupes = checks[("wo_dupes", naming.PRIMARY_KEY_UNIQUE_CHECK)]
    assert not dupes.passed and dupes.blocking and dupes.severity == dg.AssetCheckSeverity.ERROR
    failing = value(dupes.metadata["failing_rows"])
    sample = value(dupes.metadata["sample_keys"])
    duplicates = value(dupes.metadata["duplicates"])
    assert failing > 0 and len(duplicates) == min(failing, SAMPLE_SIZE)
    assert all(d["rows"] == 2 and d["id"] % 10 == 0 for d in duplicates)
    assert sample == [{"id": d["id"]} for d in sorted(duplicates, key=lambda d: d["id"])]
    assert checks[("wo_dupes", naming.PRIMARY_KEY_NOT_NULL_CHECK)].passed
    # The blocked day is not loaded, the step says why, and the other pipelines are loaded.
    loaded = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()
              if e.asset_key.path[1] == "load"}
    assert loaded == {"work_order"}
    assert ("wo_dupes", naming.RECONCILE_CHECK) not in checks
    warehouse = duckdb_warehouse(tmp_path / ".etl/warehouse.duckdb", "default")
    assert warehouse.count_days("wo_dupes", [DAY], None) == {DAY: 0}
    assert warehouse.count_days("work_order", [DAY], None)[DAY] > 0
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert (f"load of default/wo_dupes [{DAY}]: BlockedByChecks: not loaded: blocking check(s) "
            "primary_key_unique failed on the extract output") in str(
        failure.step_failure_data.error)

    # Warnings fail without stopping anything; their metadata says what failed.
    status = checks[("work_order", "accepted_values_status")]
    assert not status.passed and status.severity == dg.AssetCheckSeverity.WARN
    unexpected = value(status.metadata["unexpected_values"])
    assert [v["value"] for v in unexpected] == ["HOLD"]
    assert value(status.metadata["failing_rows"]) == unexpected[0]["rows"]
    assert checks[("work_order", "not_null_item_code_line_code")].passed
    assert checks[("work_order", "row_count_in_range")].passed
    assert not checks[("work_order", "qty_small")].passed
    broken = checks[("work_order", "broken")]
    assert not broken.passed and "could not be evaluated" in (broken.description or "")
    assert "no_such_column" in value(broken.metadata["error"])


def test_sensitive_columns_are_never_sampled(tmp_path: Path) -> None:
    defs = tenant(tmp_path)
    result = defs.resolve_job_def("daily_etl_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), partition_key=DAY, raise_on_error=False)
    checks = evaluations(result)
    secret = checks[("wo_secret_key", "qty_small")]
    assert not secret.passed
    assert value(secret.metadata["sample"]) == "withheld: the primary key columns are sensitive"
    # order_no is sensitive in work_order too: its unique rule shows no duplicate values.
    assert "duplicates" not in checks[("work_order", "unique_order_no")].metadata
    rendered = json.dumps([{k: str(value(v)) for k, v in e.metadata.items()}
                           for e in checks.values()])
    assert "WO-" not in rendered  # no order number anywhere in any check's metadata


def test_a_range_run_records_each_check_per_day_and_master_data_without_one(
    tmp_path: Path,
) -> None:
    tenants = copy_tenants(tmp_path, ("project_01",))
    seed_tenant(tmp_path, "project_01")
    defs = build_tenant_definitions("project_01", tenants_dir=tenants)
    instance = dg.DagsterInstance.ephemeral()
    days = [d.isoformat() for d in DAYS]
    daily = defs.resolve_job_def("daily_etl_job").execute_in_process(
        instance=instance, tags={naming.RANGE_START_TAG: days[0], naming.RANGE_END_TAG: days[-1]})
    keyed = [e for e in daily.get_asset_check_evaluations()
             if e.check_name == naming.PRIMARY_KEY_UNIQUE_CHECK]
    assert sorted((e.asset_key.path[-1], e.partition) for e in keyed) == sorted(
        (p, d) for p in ("work_order", "production_result", "quality_inspection") for d in days)
    master = defs.resolve_job_def("master_sync_job").execute_in_process(instance=instance)
    results = master.get_asset_check_evaluations()
    assert {e.check_name for e in results} == {
        naming.PRIMARY_KEY_UNIQUE_CHECK, naming.PRIMARY_KEY_NOT_NULL_CHECK, naming.RECONCILE_CHECK}
    assert all(e.partition is None and e.passed for e in results)


def test_a_check_runs_on_its_own_on_the_files_already_written(tmp_path: Path) -> None:
    defs = tenant(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    defs.resolve_job_def("daily_etl_job").execute_in_process(
        instance=instance, partition_key=DAY, raise_on_error=False)
    check = naming.check_key("default", "extract", "wo_dupes", naming.PRIMARY_KEY_UNIQUE_CHECK)
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection={check})
    result = job.execute_in_process(instance=instance, partition_key=DAY, raise_on_error=False)
    assert result.get_asset_materialization_events() == []
    (only,) = result.get_asset_check_evaluations()
    assert only.check_name == naming.PRIMARY_KEY_UNIQUE_CHECK and not only.passed
    assert only.partition == DAY


@pytest.mark.parametrize(("sql", "why"), [
    ("planned_qty > 0 FROM work_order", "it has a clause after the expression"),
    ("planned_qty > 0, true", "it is 2 expressions"),
    ("id IN (SELECT id FROM work_order)", "it uses a subquery"),
    ("1; DROP TABLE work_order", "not a single SQL expression"),
])
def test_an_expression_must_be_one_expression(tmp_path: Path, sql: str, why: str) -> None:
    from etl.config.errors import ConfigError

    rule = f'          - {{type: expression, name: x, sql: "{sql}"}}\n'
    with pytest.raises(ConfigError) as info:
        tenant(tmp_path, "assets:\n  pipelines:\n    - name: work_order\n      checks:\n"
                         "        rules:\n" + rule)
    assert "assets.pipelines[0].checks.rules[0].sql: not a single SQL expression" in str(
        info.value)
    assert why in str(info.value)
