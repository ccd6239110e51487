"""Quality checks with the lake on S3 and a Trino warehouse: the checks read Parquet on S3."""

from __future__ import annotations

from typing import Any

from etl import naming
from tests.integration.test_trino_load import DAYS, Tenant, tenant  # noqa: F401
from tools.services.base import Service
from tools.services.trino import query

PIPELINES: list[dict[str, Any]] = [
    {"name": "wo", "table": "work_order", "date_column": "created_at", "primary_key": ["id"],
     "has_transfer": True, "save_to_trino": True, "load_mode": "iceberg",
     "checks": {"rules": [
         {"type": "accepted_values", "column": "status",
          "values": ["RELEASED", "RUNNING", "DONE", "HOLD"], "blocking": True},
         {"type": "expression", "name": "qty_positive", "sql": "planned_qty > 0"}]}},
    {"name": "wo_dupes", "date_column": "created_at", "primary_key": ["id"],
     "query": "SELECT * FROM work_order UNION ALL SELECT * FROM work_order WHERE id % 7 = 0",
     "save_to_trino": True, "load_mode": "external"},
    {"name": "item", "table": "CFG_ITEM_MASTER", "primary_key": ["ITEM_CODE"],
     "save_to_trino": True, "load_mode": "external"},
]


def test_checks_on_s3_parquet_gate_the_trino_load(
    tenant: Tenant, trino_server: Service, schema: str,  # noqa: F811
) -> None:
    tenant.configure(trino_server.host, trino_server.port, PIPELINES)
    day = DAYS[0]
    result = tenant.run(naming.DAILY_ETL_JOB, day)
    assert not result.success
    checks = {(e.asset_key.path[1], e.asset_key.path[-1], e.check_name): e
              for e in result.get_asset_check_evaluations()}
    assert all(e.partition == day for e in checks.values())
    for name in ("accepted_values_status", "qty_positive", naming.PRIMARY_KEY_UNIQUE_CHECK):
        assert checks[("transfer", "wo", name)].passed, name
    dupes = checks[("extract", "wo_dupes", naming.PRIMARY_KEY_UNIQUE_CHECK)]
    assert not dupes.passed and dupes.metadata["failing_rows"].value > 0
    assert str(dupes.metadata["file"].value).startswith(f"s3://{tenant.bucket.bucket}/")
    # The day of wo reached Trino; the day of wo_dupes did not, and the step says so.
    rows = tenant.summary.rows("work_order", day)
    assert query(trino_server, f"SELECT count(*) FROM iceberg.{schema}.wo") == [[rows]]
    tables = {t for (t,) in query(trino_server, f"SHOW TABLES FROM hive.{schema}")}
    assert "wo_dupes" not in tables
    (load,) = [m for m in result.get_asset_materialization_events()
               if m.asset_key == naming.asset_key(tenant.id, "load", "wo")]
    meta = load.materialization.metadata
    assert meta["dagster/table_name"].value == f"iceberg.{schema}.wo"
    assert str(meta["read_from"].value).startswith(f"s3://{tenant.bucket.bucket}/")
    errors = "\n".join(str(e.step_failure_data.error) for e in result.all_events
                       if e.is_step_failure)
    assert "BlockedByChecks: not loaded: blocking check(s) primary_key_unique failed" in errors

    master = tenant.run(naming.MASTER_SYNC_JOB, None)
    assert master.success
    results = master.get_asset_check_evaluations()
    assert {e.check_name for e in results} == {
        naming.PRIMARY_KEY_UNIQUE_CHECK, naming.PRIMARY_KEY_NOT_NULL_CHECK, naming.RECONCILE_CHECK}
    assert all(e.passed and e.partition is None for e in results)
