"""The batching event log on PostgreSQL: the rows Dagster's own class writes, what the UI
shows for each day of a range run recorded in a PostgreSQL instance (read through GraphQL), and
the fleet's days as ``etl status`` reads them (where a wiped asset's events stay in the table).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from etl import naming
from etl.cli.main import main
from etl.instance.private import PostgresEventLogStorage
from etl.instance.storage import BatchingPostgresEventLogStorage, postgres_storages
from etl.runs.launch import CodeLocation
from tests.day_records_cases import (
    assert_planned_prefetched_as_dagster,
    assert_reads_as_dagster,
    record_history,
)
from tests.event_storage import (
    assert_counts_as_stored,
    differences,
    dump_postgres,
    recorded_events,
    replay,
)
from tests.helpers import copy_tenants, seed_tenant
from tests.ui import workspace_ui
from tests.unit.test_dagster_states import DAYS, PIPELINES, TENANT, more_defects_than_output
from tools.services import postgres
from tools.services.base import Service


@pytest.fixture
def database(postgres_server: Service) -> Iterator[Callable[[], str]]:
    """A fresh database; yields its URL with the driver dagster-postgres supports."""
    names: list[str] = []

    def create() -> str:
        names.append(f"t_{uuid.uuid4().hex[:12]}")
        url = postgres.create_database(postgres_server, names[-1])
        return sa.make_url(url).set(drivername="postgresql+psycopg2").render_as_string(
            hide_password=False)

    yield create
    for name in names:
        postgres.drop_database(postgres_server, name)


def test_the_same_rows_as_dagsters_own_storage(tmp_path: Path,
                                               database: Callable[[], str]) -> None:
    events = recorded_events(tmp_path / "source")
    stock_url, batched_url = database(), database()
    replay(PostgresEventLogStorage(stock_url), events)
    storage = BatchingPostgresEventLogStorage(batched_url, buffer_max_events=7, buffer_max_ms=0)
    replay(storage, events)
    assert storage.written["events"] == sum(1 for e in events if storage.buffers(e))
    # asset_keys.id is a serial nothing refers to: the stock class spends one per event (an
    # upsert each), the batch one per asset.
    assert differences(dump_postgres(stock_url), dump_postgres(batched_url),
                       ignore=frozenset({("asset_keys", "id")})) == []


def test_a_runs_check_results_are_counted_as_stored(tmp_path: Path,
                                                     database: Callable[[], str]) -> None:
    assert_counts_as_stored(BatchingPostgresEventLogStorage(
        database(), buffer_max_events=7, buffer_max_ms=0), recorded_events(tmp_path / "source"))


def pg_home(root: Path, server: Service, db_name: str) -> Path:
    home = root / "dagster_home"
    home.mkdir()
    db = {"hostname": server.host, "port": server.port, "username": server.user,
          "password": server.password, "db_name": db_name, "scheme": "postgresql+psycopg2"}
    (home / "dagster.yaml").write_text(yaml.safe_dump(
        {**postgres_storages(db), "telemetry": {"enabled": False}}))
    return home


def test_the_days_read_as_dagster_reads_them(tmp_path: Path, postgres_server: Service,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    db_name = f"t_{uuid.uuid4().hex[:12]}"
    postgres.create_database(postgres_server, db_name)
    try:
        home = pg_home(tmp_path, postgres_server, db_name)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert isinstance(instance.event_log_storage, BatchingPostgresEventLogStorage)
            record_history(instance, tmp_path / "source")
            assert_reads_as_dagster(instance)
            assert_planned_prefetched_as_dagster(instance)
    finally:
        postgres.drop_database(postgres_server, db_name)


def test_a_range_in_a_postgres_instance_shows_each_day_and_check_as_it_is(
        tmp_path: Path, postgres_server: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    db_name = f"t_{uuid.uuid4().hex[:12]}"
    postgres.create_database(postgres_server, db_name)
    try:
        tenants = copy_tenants(tmp_path, (TENANT,))
        seed_tenant(tmp_path, TENANT, tuple(dt.date.fromisoformat(d) for d in DAYS))
        monkeypatch.setenv("ETL_TENANTS_DIR", str(tenants))
        monkeypatch.setenv("DAGSTER_HOME", str(pg_home(tmp_path, postgres_server, db_name)))
        monkeypatch.chdir(tmp_path)
        more_defects_than_output(tmp_path, DAYS[1])
        assert main(["backfill", TENANT, "--from", DAYS[0], "--to", DAYS[-1]]) == 1
        with dg.DagsterInstance.get() as instance, \
                workspace_ui(instance, CodeLocation.of_tenant(TENANT)) as ui:
            assert isinstance(instance.event_log_storage, BatchingPostgresEventLogStorage)
            blocking = naming.check_key(TENANT, "transfer", "production_result",
                                        "defects_within_output")
            assert ui.check_days(blocking, DAYS) == {
                DAYS[0]: "SUCCEEDED", DAYS[1]: "FAILED", DAYS[2]: "SUCCEEDED"}
            load = naming.asset_key(TENANT, "load", "production_result")
            assert ui.asset_days(load, DAYS) == {
                DAYS[0]: "MATERIALIZED", DAYS[1]: "FAILED", DAYS[2]: "MATERIALIZED"}
            for pipeline in PIPELINES:
                check = naming.check_key(TENANT, "load", pipeline, naming.RECONCILE_CHECK)
                states = ui.check_days(check, DAYS)
                if pipeline == "production_result":  # not loaded, so never compared
                    assert states.pop(DAYS[1]) == "EXECUTION_FAILED"
                assert set(states.values()) == {"SUCCEEDED"}, (check, states)
    finally:
        postgres.drop_database(postgres_server, db_name)
