"""``etl status`` reads a fleet's days in a few queries (:mod:`etl.instance.day_records`); on a
local instance its answers are Dagster's own. The PostgreSQL twin is in
``tests/integration/test_event_storage_postgres.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.instance.day_records import row_count_of
from etl.instance.storage import BatchingSqliteEventLogStorage
from etl.runs.home import instance
from tests.day_records_cases import (
    assert_planned_prefetched_as_dagster,
    assert_reads_as_dagster,
    record_history,
)


def test_the_days_read_as_dagster_reads_them(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    with instance() as local:
        assert isinstance(local.event_log_storage, BatchingSqliteEventLogStorage)
        record_history(local, tmp_path / "source")
        assert_reads_as_dagster(local)
        assert_planned_prefetched_as_dagster(local)


def test_a_row_count_is_read_from_the_text_only_where_dagster_wrote_it() -> None:
    import dagster as dg

    def text(metadata: dict[str, object]) -> str:
        return dg.serialize_value(dg.EventLogEntry(
            error_info=None, level=10, user_message="", run_id="r", timestamp=0.0,
            dagster_event=dg.DagsterEvent(
                event_type_value="ASSET_MATERIALIZATION", job_name="j",
                event_specific_data=_step_materialization(dg.AssetMaterialization(
                    asset_key="a", metadata=metadata)))))

    assert row_count_of(text({"dagster/row_count": 12, "bytes": 3})) == 12
    assert row_count_of(text({"x": "dagster/row_count", "y": 1})) is None
    assert row_count_of(text({"dagster/row_count": dg.MetadataValue.int(-4)})) == -4
    assert row_count_of(text({"dagster/row_count": "7"})) is None  # text, not a count


def _step_materialization(mat: object) -> object:
    from dagster._core.events import StepMaterializationData

    return StepMaterializationData(mat)  # type: ignore[arg-type]
