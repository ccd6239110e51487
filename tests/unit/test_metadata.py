"""Standard metadata: what `etl demo` records, and what the definitions say about each asset."""

from __future__ import annotations

import io
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph

from etl import build_tenant_definitions, naming
from etl.common.transfer import standardize
from etl.config.tenant_config import PipelineAssetConfig
from etl.stages.outcome import lake_uri, readable_size, table_schema
from etl.stages.transfer import run_transfer
from tests.helpers import storage_resource


def test_sizes_read_as_people_read_them() -> None:
    assert [readable_size(n) for n in (512, 2048, 5 * 1024**2 + 1, 3 * 1024**4)] == [
        "512 B", "2.0 KiB", "5.0 MiB", "3,072.0 GiB"]
    assert lake_uri("s3://bucket/lake/x.parquet") == "s3://bucket/lake/x.parquet"
    assert lake_uri("/tmp/lake/dt=2026-03-01/x.parquet") == "file:///tmp/lake/dt=2026-03-01/x.parquet"
    assert lake_uri("/tmp/a lake/x") == "file:///tmp/a%20lake/x"


def test_a_transfer_keeps_the_comments_of_the_columns_it_keeps(tmp_path: Path) -> None:
    storage = storage_resource(str(tmp_path / "lake"))
    schema = pa.schema([pa.field("ID", pa.int64(), metadata={b"comment": b"the key"}),
                        pa.field("PlannedQty", pa.int32(), metadata={b"comment": b"units"})])
    data = pa.table({"ID": [1, 2], "PlannedQty": [3, 4]}, schema=schema)
    storage.write(naming.data_file_path("t", "extract", "p", None), data.to_reader())
    pipeline = PipelineAssetConfig(name="p", table="p", primary_key=("ID",))
    (result,) = run_transfer("t", pipeline, standardize, storage, None)
    assert result.outcome is not None and result.outcome.schema is not None
    described = {c.name: c.description for c in table_schema(result.outcome.schema).columns}
    assert described == {"id": "the key", "planned_qty": "units"}


def test_specs_carry_owners_descriptions_and_master_wording() -> None:
    specs = {s.key.to_user_string(): s
             for s in build_tenant_definitions("project_01").resolve_all_asset_specs()}
    assert all(s.owners == ["team:data_platform", "mes-ops@project01.example.com"]
               for s in specs.values())
    custom = specs["project_01/transfer/production_result"].description or ""
    assert "good quantity and defect rate" in custom  # the tenant function's docstring
    common = specs["project_01/transfer/work_order"].description or ""
    assert "Snake-case column names" in common
    graph = build_tenant_definitions("project_01").resolve_asset_graph()
    master = graph.get_check_spec(dg.AssetCheckKey(
        naming.asset_key("project_01", "extract", "cfg_item_master"),
        naming.PRIMARY_KEY_UNIQUE_CHECK))
    assert "master data" in (master.description or "")
    assert "day" not in (master.description or "")


@pytest.fixture(scope="module")
def demo_instance(tmp_path_factory: pytest.TempPathFactory) -> dg.DagsterInstance:
    """`etl demo` in its own folder and DAGSTER_HOME, then its instance, read back."""
    from etl.demo.runner import run_demo

    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        assert run_demo(days=2, out=io.StringIO()) == 0
        (root / "dagster_home" / "dagster.yaml").touch()
        return dg.DagsterInstance.from_config(str(root / "dagster_home"))


def _graph() -> BaseAssetGraph:
    from etl import build_all_definitions

    return build_all_definitions().resolve_asset_graph()


def test_after_the_demo_every_materialization_has_row_count_and_versions_the_latest_columns(
    demo_instance: dg.DagsterInstance,
) -> None:
    newest = {}
    records = []
    for key in _graph().get_all_asset_keys():
        found = demo_instance.fetch_materializations(key, limit=100).records  # newest first
        if found:
            newest[key] = found[0].storage_id
        records += found
    assert len(records) == 2 * 3 * 3 * 2 + 2  # 2 tenants x 3 pipelines x 3 stages x 2 days + master
    for record in records:
        entry = record.event_log_entry
        materialization = entry.asset_materialization
        assert materialization is not None
        meta = materialization.metadata
        key = materialization.asset_key.to_user_string()
        assert isinstance(meta["dagster/row_count"].value, int), key
        if record.storage_id == newest[materialization.asset_key]:  # the columns shown
            assert isinstance(meta["dagster/column_schema"].value, dg.TableSchema), key
        else:  # earlier days of the range run: the same columns, not repeated
            assert "dagster/column_schema" not in meta, key
        assert isinstance(meta["bytes"].value, int) and meta["size"].value, key
        tags = entry.tags or {}
        assert tags.get("dagster/code_version") and tags.get("dagster/data_version"), key
        if materialization.asset_key.path[1] == "load":
            assert meta["dagster/table_name"].value.endswith(materialization.asset_key.path[2])
            assert str(meta["read_from"].value).startswith("file://")
            assert "dagster/uri" not in meta
        else:
            assert str(meta["dagster/uri"].value).startswith("file://"), key


def test_after_the_demo_every_check_result_has_its_partition(
    demo_instance: dg.DagsterInstance,
) -> None:
    storage = demo_instance.event_log_storage
    evaluations = [r.event.dagster_event.asset_check_evaluation_data
                   for check in _graph().asset_check_keys
                   for r in storage.get_asset_check_execution_history(check, limit=100)
                   if r.event is not None and r.event.dagster_event is not None]
    assert len(evaluations) == 2 * (9 * 2) + 3 * 2 + 3  # row count + key per day, rules, master
    assert all(e.passed for e in evaluations)
    for e in evaluations:
        master = e.asset_key.path[-1] == "cfg_item_master"
        assert (e.partition is None) == master, (e.asset_key, e.check_name, e.partition)


def test_every_asset_of_the_demo_tenants_has_a_code_version() -> None:
    for tenant in ("default", "project_01"):
        specs = build_tenant_definitions(tenant).resolve_all_asset_specs()
        assert specs and all(s.code_version for s in specs)
