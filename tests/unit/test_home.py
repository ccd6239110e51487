"""The local home's ``dagster.yaml``: written with the batching event log, completed when it
has no storage settings (the rest kept as written), left alone when it names its own."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from etl.instance.storage import BatchingSqliteEventLogStorage
from etl.runs.home import dagster_home, prepare


def test_a_new_home_names_the_batching_event_log_on_the_stock_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    home = dagster_home()
    settings = yaml.safe_load((home / "dagster.yaml").read_text())
    assert settings["telemetry"] == {"enabled": False}
    assert settings["event_log_storage"]["config"]["base_dir"] == str(home / "history" / "runs")
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, BatchingSqliteEventLogStorage)
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
    assert not prepare(home)  # already complete: not rewritten


def test_an_existing_home_keeps_its_settings_and_gets_the_storage(tmp_path: Path) -> None:
    own = "# mine\nrun_monitoring:\n  enabled: true  # keep\ntelemetry:\n  enabled: false"
    (tmp_path / "dagster.yaml").write_text(own)
    assert prepare(tmp_path)
    text = (tmp_path / "dagster.yaml").read_text()
    assert text.startswith(own + "\n")  # comments and layout as they were
    assert yaml.safe_load(text)["run_monitoring"] == {"enabled": True}
    assert "event_log_storage" in yaml.safe_load(text)


def test_a_home_naming_its_own_storage_is_left_alone(tmp_path: Path) -> None:
    own = f"storage:\n  sqlite:\n    base_dir: {tmp_path}/elsewhere\n"
    (tmp_path / "dagster.yaml").write_text(own)
    assert not prepare(tmp_path)
    assert (tmp_path / "dagster.yaml").read_text() == own


def test_a_moved_home_writes_its_own_files(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    prepare(old)
    old.rename(new)
    assert prepare(new)
    settings = yaml.safe_load((new / "dagster.yaml").read_text())
    assert settings["event_log_storage"]["config"]["base_dir"] == str(new / "history" / "runs")
    assert settings["telemetry"] == {"enabled": False}
