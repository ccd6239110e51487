"""Code versions follow what decides each stage's output; staleness follows them, per day."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.definitions.temporal_context import TemporalContext
from dagster._time import get_current_datetime

from etl import build_tenant_definitions, naming
from tests.helpers import DAYS, copy_tenants, seed_tenant

FIRST, SECOND = (d.isoformat() for d in DAYS)
TENANT = "default"
BASE = """\
assets:
  pipelines:
    - name: work_order
      transfer: {sql: "SELECT * FROM source"}
      {extra}
"""


def versions(defs: dg.Definitions) -> dict[str, str | None]:
    return {s.key.to_user_string(): s.code_version for s in defs.resolve_all_asset_specs()}


class Tenant:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.dir = copy_tenants(tmp, (TENANT,))
        self.file = self.dir / TENANT / "config.yaml"
        self.base = self.file.read_text()

    def defs(self, transfer: str = "SELECT * FROM source", extra: str = "") -> dg.Definitions:
        text = BASE.replace("SELECT * FROM source", transfer).replace("{extra}", extra)
        self.file.write_text(self.base + text)
        return build_tenant_definitions(TENANT, tenants_dir=self.dir)


def changed(before: dict[str, str | None], after: dict[str, str | None]) -> set[str]:
    assert set(before) == set(after)
    return {k for k in before if before[k] != after[k]}


def test_every_asset_has_a_code_version_and_each_change_moves_only_its_stage(
    tmp_path: Path,
) -> None:
    tenant = Tenant(tmp_path)
    base = versions(tenant.defs())
    assert all(base.values())
    wo = f"{TENANT}/{{}}/work_order"
    assert changed(base, versions(tenant.defs("SELECT *, 1 AS one FROM source"))) == {
        wo.format("transfer")}
    assert changed(base, versions(tenant.defs(extra="columns: [id, created_at, status]"))) == {
        wo.format("extract")}
    assert changed(base, versions(tenant.defs(extra="schema_drift: fail"))) == {
        wo.format("load")}
    assert changed(base, versions(tenant.defs(extra="primary_key: [id, status]"))) == {
        wo.format("transfer")}
    # Descriptions, checks and freshness decide no data.
    assert changed(base, versions(tenant.defs(extra="description: other words"))) == set()
    quiet = "checks: {primary_key: warn}\n      freshness: {deadline: '09:00'}"
    assert changed(base, versions(tenant.defs(extra=quiet))) == set()


def test_a_changed_custom_transfer_changes_only_its_asset(tmp_path: Path) -> None:
    first, second = (copy_tenants(tmp_path / n, ("project_01",)) for n in ("a", "b"))
    module = second / "project_01" / "assets" / "transfer.py"
    module.write_text(module.read_text().replace("round(defect_qty::DOUBLE / produced_qty, 4)",
                                                 "round(defect_qty::DOUBLE / produced_qty, 2)"))
    before, after = (versions(build_tenant_definitions("project_01", tenants_dir=t))
                     for t in (first, second))
    assert changed(before, after) == {"project_01/transfer/production_result"}


def test_transfer_source_includes_the_common_functions_it_calls() -> None:
    from etl.factories.code_versions import transfer_source
    from etl.tenants.project_01.assets.transfer import production_yield

    source = transfer_source(production_yield)
    assert "def production_yield" in source and "def standardize" in source
    assert "def snake_case" in source  # standardize's own helper


def resolver(instance: dg.DagsterInstance, defs: dg.Definitions) -> CachingStaleStatusResolver:
    graph = defs.resolve_asset_graph()
    assert isinstance(graph, AssetGraph)
    view = AssetGraphView(temporal_context=TemporalContext(
        effective_dt=get_current_datetime(), last_event_id=None),
        instance=instance, asset_graph=graph)
    return CachingStaleStatusResolver(instance=instance, asset_graph=graph, loading_context=view)


def statuses(instance: dg.DagsterInstance, defs: dg.Definitions) -> dict[tuple[str, str], str]:
    stale = resolver(instance, defs)
    return {(stage, day): stale.get_status(naming.asset_key(TENANT, stage, "work_order"),
                                           day).value
            for stage in naming.STAGES for day in (FIRST, SECOND)}


def run(defs: dg.Definitions, job: str, day: str, instance: dg.DagsterInstance) -> None:
    result = defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=day)
    assert result.success


def fresh_except(*stale: tuple[str, str]) -> dict[tuple[str, str], str]:
    return {(s, d): (StaleStatus.STALE if (s, d) in stale else StaleStatus.FRESH).value
            for s in naming.STAGES for d in (FIRST, SECOND)}


@pytest.fixture
def seeded(tmp_path: Path) -> Tenant:
    tenant = Tenant(tmp_path)
    seed_tenant(tmp_path, TENANT)
    return tenant


def test_staleness_follows_code_and_data_day_by_day(seeded: Tenant) -> None:
    instance = dg.DagsterInstance.ephemeral()
    defs = seeded.defs()
    for day in (FIRST, SECOND):
        run(defs, naming.DAILY_ETL_JOB, day, instance)
    assert statuses(instance, defs) == fresh_except()

    # A new transfer: the transfer's days are stale, nothing else yet.
    changed_defs = seeded.defs("SELECT *, 1 AS one FROM source")
    assert statuses(instance, changed_defs) == fresh_except(("transfer", FIRST),
                                                            ("transfer", SECOND))
    # Rerun the transfer for day one: that day's load is now stale, day two's transfer still.
    run(changed_defs, naming.stage_job_name("transfer"), FIRST, instance)
    assert statuses(instance, changed_defs) == fresh_except(("load", FIRST), ("transfer", SECOND))
    run(changed_defs, naming.stage_job_name("load"), FIRST, instance)
    assert statuses(instance, changed_defs) == fresh_except(("transfer", SECOND))

    # Re-extracting the same rows changes nothing downstream; late rows make day one stale.
    run(changed_defs, naming.stage_job_name("extract"), FIRST, instance)
    assert statuses(instance, changed_defs) == fresh_except(("transfer", SECOND))
    engine = sa.create_engine(f"sqlite:///{seeded.tmp}/.etl/sources/{TENANT}.db")
    with engine.begin() as con:
        con.execute(sa.text(
            "INSERT INTO work_order SELECT id + 1000000, order_no || '-late', item_code, "
            "line_code, planned_qty, status, due_date, created_at FROM work_order "
            "WHERE date(created_at) = :day LIMIT 1"), {"day": FIRST})
    engine.dispose()
    run(changed_defs, naming.stage_job_name("extract"), FIRST, instance)
    assert statuses(instance, changed_defs) == fresh_except(("transfer", FIRST),
                                                            ("transfer", SECOND))
