"""The framework as it is deployed: ``etl deploy up`` with the daemon and one code server per
tenant on a PostgreSQL instance, runs queued, launched into their own processes, monitored and
retried, against real source databases and S3.

The tests share one deployment (starting it costs half a minute) and run in file order: the
per-minute schedule first, since its first tick is at most a minute away.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import dagster as dg
import duckdb
import psycopg
import pytest
from dagster._core.storage.dagster_run import RunRecord, RunsFilter

from etl import naming
from etl.deploy.local import CODE_SERVER_HEARTBEAT_TTL_S
from etl.instance.postgres import APPLICATION_NAME
from etl.instance.private import CODE_VERSION_TAG, DATA_VERSION_TAG, get_input_event_pointer_tag
from etl.instance.storage import BatchingPostgresEventLogStorage
from tests.deploy.support import (
    BACKFILL_DAYS,
    ETL,
    ROWS_PER_DAY,
    TODAY,
    YESTERDAY,
    Deployment,
    Tenant,
    active_queries,
    alive,
    create_source,
    environ_of,
    eventually,
    new_password,
    process_tree,
    seen_env,
    seen_pg_user,
    set_sleep,
    start_deployment,
    write_tenant,
)
from tools.services import postgres, s3
from tools.services.base import Service

pytestmark = pytest.mark.deploy

RUN_TIMEOUT_S = 240
BACKFILL_TIMEOUT_S = 600
ORDERS_TENANTS = ("t_a", "t_b", "t_c")
MAX_RUNTIME_S = 60  # t_ops's runs.max_runtime_s (the least the config allows)


@pytest.fixture(scope="module")
def ops_server() -> Iterator[Service]:
    """t_ops's own PostgreSQL, which the outage test stops and starts again."""
    with postgres.start_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def tenants(postgres_server: Service, ops_server: Service) -> dict[str, Tenant]:
    found = {
        "t_a": Tenant("t_a", postgres_server, new_password(), schedule=True),
        "t_b": Tenant("t_b", postgres_server, new_password(), max_concurrent=2),
        "t_c": Tenant("t_c", postgres_server, new_password()),
        "t_ops": Tenant("t_ops", ops_server, new_password(), ops=True,
                        max_runtime_s=MAX_RUNTIME_S),
        "t_rec": Tenant("t_rec", postgres_server, new_password(), schedule=True,
                        reconcile=True),
    }
    for tenant in found.values():
        create_source(tenant)
    return found


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, postgres_server: Service,
               s3_server: Service, tenants: dict[str, Tenant]) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("deploy")
    instance_db = f"dagster_{uuid.uuid4().hex[:8]}"
    postgres.create_database(postgres_server, instance_db)
    bucket = s3.create_bucket(s3_server, f"deploy-{uuid.uuid4().hex[:8]}")
    tenants_dir = root / "tenants"
    for tenant in tenants.values():
        write_tenant(tenants_dir, tenant, bucket, root / "warehouses")
    secrets = {t.password_env: t.password for t in tenants.values()}
    keys = {name: key for t in tenants.values() for name, key in (
        (t.lake_env["access"], bucket.access_key), (t.lake_env["secret"], bucket.secret_key))}
    env = {**os.environ, **secrets, **keys,
           "ETL_TENANTS_DIR": str(tenants_dir), "DAGSTER_HOME": str(root / "home"),
           "DAGSTER_PG_HOST": postgres_server.host, "DAGSTER_PG_PORT": str(postgres_server.port),
           "DAGSTER_PG_USER": postgres_server.user, "DAGSTER_PG_DB": instance_db,
           "DAGSTER_PG_PASSWORD": postgres_server.password}
    saved = dict(os.environ)
    os.environ.update(env)  # the test reads the instance and the tenants as the CLI would
    deployment = start_deployment(root / "home", tenants_dir, env)
    deployment.state["bucket"] = bucket.bucket
    deployment.state["instance_db"] = instance_db
    try:
        yield deployment
    finally:
        deployment.stop()
        os.environ.clear()
        os.environ.update(saved)
        s3.delete_bucket(s3_server, bucket.bucket)
        postgres.drop_database(postgres_server, instance_db)


# --- reading what happened -------------------------------------------------------------------

def records(instance: dg.DagsterInstance, **tags: str) -> list[RunRecord]:
    return list(instance.get_run_records(filters=RunsFilter(tags=tags)))


def finished(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRun | None:
    run = instance.get_run_by_id(run_id)
    return run if run is not None and run.is_finished else None


def messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [r.event_log_entry.message or ""
            for r in instance.get_records_for_run(run_id, limit=100_000).records]


def failure_lines(instance: dg.DagsterInstance, runs: list[dg.RunRecord]) -> list[str]:
    """Every line of ``runs``' logs that names a failure, an error or a retry: what a failed
    assertion on a backfill's outcome prints."""
    return [f"{r.dagster_run.run_id[:8]}: {m}" for r in runs
            for m in messages(instance, r.dagster_run.run_id)
            if re.search(r"fail|error|retry|transient|refused|did not pass", m, re.I)]


def failures(instance: dg.DagsterInstance, run_id: str) -> str:
    """The run's error messages, in full, for an assertion to show."""
    return "\n".join(m for m in messages(instance, run_id)
                     if "Traceback" in m or "failed" in m.lower())


def idle(instance: dg.DagsterInstance, tenant: str) -> bool:
    return all(r.dagster_run.is_finished for r in records(instance, tenant=tenant))


def most_at_once(runs: list[RunRecord]) -> int:
    """The most runs that were running at the same moment, from their start and end times."""
    edges = []
    for record in runs:
        assert record.start_time is not None and record.end_time is not None, (
            record.dagster_run.status, record.dagster_run.tags)
        edges += [(record.start_time, 1), (record.end_time, -1)]
    running = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):  # an end before a start at a tie
        running += step
        peak = max(peak, running)
    return peak


def warehouse_days(deployment: Deployment, tenant: str, table: str
                   ) -> dict[str, tuple[int, int, Decimal]]:
    """Rows, distinct ids and the sum of amounts per day, as the tenant's warehouse holds them."""
    path = deployment.tenants_dir.parent / "warehouses" / f"{tenant}.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            f'SELECT CAST("{naming.PARTITION_COLUMN}" AS VARCHAR), count(*), count(DISTINCT id),'
            f' sum(amount) FROM "{tenant}"."{tenant}"."{table}" GROUP BY 1').fetchall()
    return {str(day): (int(n), int(ids), Decimal(total)) for day, n, ids, total in rows}


def source_days(tenant: Tenant, days: tuple[dt.date, ...]) -> dict[str, tuple[int, int, Decimal]]:
    with tenant.connect() as conn:
        rows = conn.execute(
            "SELECT created_at::date, count(*), count(DISTINCT id), sum(amount) FROM orders "
            "WHERE created_at::date = ANY(%s) GROUP BY 1", (list(days),)).fetchall()
    return {str(day): (int(n), int(ids), Decimal(total))  # type: ignore[call-overload]
            for day, n, ids, total in rows}


def submit_backfill(deployment: Deployment, tenant: str, days: tuple[dt.date, ...],
                    *pipelines: str) -> str:
    args = ["backfill", tenant, "--from", str(days[0]), "--to", str(days[-1]), "--submit"]
    for pipeline in pipelines:
        args += ["--pipeline", pipeline]
    out = deployment.etl(*args)
    found = re.search(
        rf"^{tenant}: backfill (\S+) of daily_etl_job, {len(days)} day\(s\), submitted", out, re.M)
    assert found, out
    return found.group(1)


def backfill_done(instance: dg.DagsterInstance, backfill_id: str) -> str | None:
    backfill = instance.get_backfill(backfill_id)
    status = backfill.status.value if backfill is not None else None
    return status if status not in (None, "REQUESTED", "CANCELING", "FAILING") else None


def started_run(instance: dg.DagsterInstance, backfill_id: str) -> dg.DagsterRun | None:
    runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id},
                                                statuses=[dg.DagsterRunStatus.STARTED]))
    return runs[0] if runs else None


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    for message in messages(instance, run_id):
        found = re.search(r"Started process for run \(pid: (\d+)\)", message)
        if found:
            return int(found.group(1))
    return None


# --- the tests -------------------------------------------------------------------------------

def test_a_per_minute_schedule_fires_and_its_run_loads_the_last_complete_day(
        deployment: Deployment, tenants: dict[str, Tenant]) -> None:
    with deployment.instance() as instance:
        def scheduled() -> dg.DagsterRun | None:
            runs = [r for r in instance.get_runs(filters=RunsFilter(tags={"tenant": "t_a"}))
                    if "dagster/schedule_name" in r.tags]
            return runs[0] if runs and runs[0].is_finished else None

        run = eventually(scheduled, "a finished run of t_a's schedule", 90 + RUN_TIMEOUT_S)
        assert run.status == dg.DagsterRunStatus.SUCCESS, failures(instance, run.run_id)
        assert run.tags[naming.PARTITION_TAG] == str(YESTERDAY)
        assert run.tags["dagster/code_location"] == "t_a"
    day = str(YESTERDAY)
    assert warehouse_days(deployment, "t_a", "orders")[day] == \
        source_days(tenants["t_a"], (YESTERDAY,))[day]
    ui = deployment.ui()  # what the UI shows for that day, through the webserver's GraphQL
    assert ui.run(run.run_id)["jobName"] == naming.DAILY_ETL_JOB
    for stage in naming.STAGES:
        assert ui.asset_days(naming.asset_key("t_a", stage, "orders"), [day]) == {
            day: "MATERIALIZED"}, stage
    for check in (naming.check_key("t_a", "load", "orders", naming.RECONCILE_CHECK),
                  naming.check_key("t_a", "transfer", "orders", "amount_positive")):
        assert ui.check_days(check, [day]) == {day: "SUCCEEDED"}, check
    note = ("schedules and sensors off for 3 of 5 tenant(s) (schedule.enabled: false): t_b, t_c, "
            "t_ops")
    assert note in deployment.log.read_text()


def test_a_day_not_loaded_by_its_deadline_shows_its_freshness_check_failed(
        deployment: Deployment) -> None:
    """t_a's sensors run (schedule.enabled): the freshness sensor judged, at its first tick,
    the days whose deadline had passed; the day before yesterday is left to no run at all."""
    day = str(TODAY - dt.timedelta(days=2))
    check = naming.check_key("t_a", "load", "orders", naming.FRESHNESS_CHECK)
    ui = deployment.ui()
    states = eventually(lambda: (found := ui.check_days(check, [day]))[day] != "MISSING"
                        and found, "the day's freshness result", 120, 2)
    assert states == {day: "FAILED"}
    ticks = ui.sensor_ticks("t_a", naming.FRESHNESS_SENSOR)
    assert any(f"orders {day}: not loaded by its deadline" in (t or "") for t in ticks), ticks


def finished_after(instance: dg.DagsterInstance, after: float, **tags: str
                   ) -> dg.DagsterRun | None:
    """The first run with ``tags`` started after ``after`` that has finished."""
    found = [r for r in records(instance, **tags)
             if r.start_time is not None and r.start_time > after]
    found.sort(key=lambda r: r.start_time or 0)
    return found[0].dagster_run if found and found[0].dagster_run.is_finished else None


def test_the_reconcile_schedule_finds_drift_and_the_heal_sensor_repairs_it(
        deployment: Deployment, tenants: dict[str, Tenant]) -> None:
    """t_rec's lake starts empty: its first reconcile finds every day missing and the heal
    loads them; rows changed at the source afterwards are found by the next reconcile, and
    healed, and the UI shows every day matching the source again."""
    from etl.instance.healing import findings
    from etl.runs.launch import CodeLocation
    from tests.ui import workspace_ui

    rec = tenants["t_rec"]
    with deployment.instance() as instance:
        first = eventually(lambda: finished_after(instance, 0, tenant="t_rec",
                                                  **{naming.REASON_TAG: "heal"}),
                           "t_rec's first heal run", 300 + RUN_TIMEOUT_S, 2)
        assert first.status == dg.DagsterRunStatus.SUCCESS, failures(instance, first.run_id)
        drifted_at = time.time()
        with rec.connect() as conn:
            conn.execute("UPDATE orders SET amount = amount + 1 WHERE id = 2005")
            conn.execute("DELETE FROM orders WHERE id = 5010")
        changed = {str(BACKFILL_DAYS[2]), str(BACKFILL_DAYS[5])}
        found = eventually(lambda: finished_after(instance, drifted_at, tenant="t_rec",
                                                  **{naming.REASON_TAG: "reconcile"}),
                           "a reconcile after the change", 120 + RUN_TIMEOUT_S, 2)
        assert {f.day for f in findings(instance, found.run_id) if f.status != "equal"} == \
            changed
        heal = eventually(lambda: finished_after(instance, drifted_at, tenant="t_rec",
                                                 **{naming.REASON_TAG: "heal"}),
                          "the heal of the changed days", 120 + RUN_TIMEOUT_S, 2)
        assert heal.status == dg.DagsterRunStatus.SUCCESS, failures(instance, heal.run_id)
        assert set(heal.tags[naming.DAYS_TAG].split(",")) == changed
        healed = instance.get_run_record_by_id(heal.run_id)
        assert healed is not None and healed.end_time is not None
        after = eventually(lambda: finished_after(instance, healed.end_time or 0,
                                                  tenant="t_rec",
                                                  **{naming.REASON_TAG: "reconcile"}),
                           "a reconcile after the heal", 120 + RUN_TIMEOUT_S, 2)
        assert {f.status for f in findings(instance, after.run_id)} == {"equal"}
        days = [str(d) for d in BACKFILL_DAYS]
        check = naming.check_key("t_rec", "extract", "orders", naming.SOURCE_CHECK)
        with workspace_ui(instance, CodeLocation.of_tenant("t_rec")) as ui:
            # The schedule fires every minute: between two reconcile runs, every day shows
            # its last result (during one, the days it plans show as in progress).
            eventually(lambda: set(ui.check_days(check, days).values()) == {"SUCCEEDED"},
                       "every day's matches_source SUCCEEDED in the UI", 120, 1)
            assert {t["key"]: t["value"] for t in ui.run(heal.run_id)["tags"]}[
                naming.REASON_TAG] == "heal"
    assert {d: warehouse_days(deployment, "t_rec", "orders").get(d) for d in days} == \
        source_days(rec, BACKFILL_DAYS)


def test_incremental_runs_of_the_master_sync_schedule_merge_the_changes(
        deployment: Deployment, tenants: dict[str, Tenant]) -> None:
    rec = tenants["t_rec"]
    with deployment.instance() as instance:
        first = eventually(lambda: finished_after(instance, 0, tenant="t_rec",
                                                  **{"dagster/schedule_name":
                                                     "master_sync_schedule"}),
                           "t_rec's first master_sync run", 120 + RUN_TIMEOUT_S, 2)
        assert first.status == dg.DagsterRunStatus.SUCCESS, failures(instance, first.run_id)
        changed_at = time.time()
        with rec.connect() as conn:
            conn.execute("UPDATE items SET name = 'renamed', updated_at = now() WHERE id < 4")
            conn.execute("DELETE FROM items WHERE id = 100")
            conn.execute("INSERT INTO items VALUES (500, 'new', now())")
        run = eventually(lambda: finished_after(instance, changed_at, tenant="t_rec",
                                                **{"dagster/schedule_name":
                                                   "master_sync_schedule"}),
                         "a master_sync run after the change", 120 + RUN_TIMEOUT_S, 2)
        assert run.status == dg.DagsterRunStatus.SUCCESS, failures(instance, run.run_id)
    path = deployment.tenants_dir.parent / "warehouses" / "t_rec.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        loaded = con.execute('SELECT id, name FROM "t_rec"."t_rec"."items" ORDER BY id').fetchall()
    with rec.connect() as conn:
        assert loaded == conn.execute("SELECT id, name FROM items ORDER BY id").fetchall()


def test_a_backfill_of_three_tenants_completes_within_each_tenants_run_limit(
        deployment: Deployment, tenants: dict[str, Tenant]) -> None:
    backfills = {t: submit_backfill(deployment, t, BACKFILL_DAYS) for t in ORDERS_TENANTS}
    with deployment.instance() as instance:
        for tenant, backfill_id in backfills.items():
            status = eventually(lambda b=backfill_id: backfill_done(instance, b),
                                f"the backfill of {tenant}", BACKFILL_TIMEOUT_S, 2)
            runs = records(instance, **{"dagster/backfill": backfill_id})
            assert status == "COMPLETED_SUCCESS", [messages(instance, r.dagster_run.run_id)[-3:]
                                                   for r in runs]
            assert len(runs) == 5  # backfill.days_per_run: 2
            assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs)
            for run in (r.dagster_run for r in runs):  # the tenant's job, with its tags
                assert run.job_name == naming.DAILY_ETL_JOB
                assert run.tags["tenant"] == tenant and run.tags[naming.MAX_RETRIES_TAG] == "1"
        every = []
        for tenant in ORDERS_TENANTS:
            eventually(lambda t=tenant: idle(instance, t), f"{tenant} with no run going",
                       RUN_TIMEOUT_S)
            # Every run of the tenant, the scheduled one too, counted from run storage.
            runs = records(instance, tenant=tenant)
            assert most_at_once(runs) <= tenants[tenant].max_concurrent, tenant
            every += runs
        # The limits are per tenant: the three tenants' backfills did run side by side.
        assert most_at_once(every) > 1
    for tenant in ORDERS_TENANTS:
        loaded = warehouse_days(deployment, tenant, "orders")
        expected = source_days(tenants[tenant], BACKFILL_DAYS)
        assert {d: loaded.get(d) for d in expected} == expected, tenant
        assert all(n == ids for n, ids, _ in loaded.values())  # no duplicate rows
    ui = deployment.ui()
    for tenant, backfill_id in backfills.items():  # the job's Partitions page lists it
        (listed,) = [b for b in ui.job_backfills(tenant, naming.DAILY_ETL_JOB)
                     if b["id"] == backfill_id]
        assert not listed["isAssetBackfill"] and len(listed["partitionNames"]) == 10
        days = [str(d) for d in BACKFILL_DAYS]
        load = naming.asset_key(tenant, "load", "orders")
        assert set(ui.asset_days(load, days).values()) == {"MATERIALIZED"}, tenant
        check = naming.check_key(tenant, "transfer", "orders", "amount_positive")
        assert set(ui.check_days(check, days).values()) == {"SUCCEEDED"}, tenant


def test_a_range_with_a_failing_day_shows_that_day_failed_and_the_others_done(
        deployment: Deployment, tenants: dict[str, Tenant]) -> None:
    bad, good = BACKFILL_DAYS[2], BACKFILL_DAYS[3]
    with tenants["t_c"].connect() as conn:  # one order of `bad` with a negative amount
        conn.execute("UPDATE orders SET amount = -1 WHERE id = (SELECT min(id) FROM orders "
                     "WHERE created_at::date = %s)", (bad,))
    done = subprocess.run(
        [str(ETL), "backfill", "t_c", "--from", str(bad), "--to", str(good), "--submit",
         "--wait"], env=deployment.env, cwd=deployment.home.parent, capture_output=True,
        text=True, timeout=BACKFILL_TIMEOUT_S, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "blocking check(s) amount_positive failed" in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    ui = deployment.ui()
    days = [str(bad), str(good)]
    check = naming.check_key("t_c", "transfer", "orders", "amount_positive")
    assert ui.check_days(check, days) == {str(bad): "FAILED", str(good): "SUCCEEDED"}
    assert ui.asset_days(naming.asset_key("t_c", "load", "orders"), days) == {
        str(bad): "FAILED", str(good): "MATERIALIZED"}
    assert set(ui.asset_days(naming.asset_key("t_c", "transfer", "orders"), days).values()) \
        == {"MATERIALIZED"}
    # Each day keeps its own materialization per stage, as the asset's Events tab lists it: its
    # rows and the provenance tags naming the same day's event of the stage before. (The failed
    # day's load, if listed, is the earlier backfill's.)
    with deployment.instance() as instance:
        for index, stage in enumerate(naming.STAGES):
            asset = naming.asset_key("t_c", stage, "orders")
            found = ui.materializations(asset, days)
            assert set(days if stage != "load" else [str(good)]) <= set(found), (stage, found)
            for day, event in found.items():
                assert event.rows == ROWS_PER_DAY, (stage, day, event)
                assert event.tags[CODE_VERSION_TAG] and event.tags[DATA_VERSION_TAG]
                if index and (stage != "load" or day == str(good)):  # this run's events
                    parent = naming.asset_key("t_c", naming.STAGES[index - 1], "orders")
                    (record,) = instance.fetch_materializations(dg.AssetRecordsFilter(
                        asset_key=parent, asset_partitions=[day]), limit=1).records
                    assert event.tags[get_input_event_pointer_tag(parent)] == str(
                        record.storage_id), (stage, day)
    # The failed day's old rows stay in the warehouse: the backfill before loaded them.
    assert warehouse_days(deployment, "t_c", "orders")[str(bad)][0] == ROWS_PER_DAY
    with tenants["t_c"].connect() as conn:
        conn.execute("UPDATE orders SET amount = 1 WHERE amount < 0")


def event_log_writers(server: Service, database: str) -> set[int]:
    """Pids of the processes connected to the instance through the batching event log (its
    connections are named ``etl-event-log pid=<pid>``)."""
    with postgres.connect(server) as conn:
        rows = conn.execute("SELECT application_name FROM pg_stat_activity WHERE datname = %s "
                            "AND application_name LIKE %s",
                            (database, f"{APPLICATION_NAME} pid=%")).fetchall()
    return {int(str(name).rpartition("=")[2]) for (name,) in rows}


def test_a_range_backfill_is_recorded_by_the_batching_event_log_in_every_process(
        deployment: Deployment, tenants: dict[str, Tenant], postgres_server: Service) -> None:
    ops = tenants["t_ops"]
    days = BACKFILL_DAYS[5:8]  # two runs (backfill.days_per_run: 2)
    set_sleep(ops, 2)  # per query: one per day (backfill.days_per_scan: 1)
    backfill_id = submit_backfill(deployment, "t_ops", days, "slow_orders")
    writers: set[int] = set()
    with deployment.instance() as instance:
        assert isinstance(instance.event_log_storage, BatchingPostgresEventLogStorage)

        def finished_backfill() -> str | None:
            writers.update(event_log_writers(postgres_server,
                                             str(deployment.state["instance_db"])))
            return backfill_done(instance, backfill_id)

        status = eventually(finished_backfill, "the backfill", BACKFILL_TIMEOUT_S, 0.3)
        runs = records(instance, **{"dagster/backfill": backfill_id})
        assert status == "COMPLETED_SUCCESS", failure_lines(instance, runs)
        workers = {worker_pid(instance, r.dagster_run.run_id) for r in runs}
        assert len(workers) == 2 and workers <= writers, (workers, writers)
        assert writers & set(process_tree(deployment.pids()["daemon"])), writers
        load = naming.asset_key("t_ops", "load", "slow_orders")
        assert set(instance.get_materialized_partitions(load)) >= {str(d) for d in days}
        check = naming.check_key("t_ops", "load", "slow_orders", naming.RECONCILE_CHECK)
        judged = {r.event_log_entry.dagster_event.event_specific_data.partition  # type: ignore[union-attr]
                  for run in runs for r in instance.get_records_for_run(
                      run.dagster_run.run_id,
                      of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
                  if r.event_log_entry.dagster_event.event_specific_data.check_name  # type: ignore[union-attr]
                  == check.name}
        assert judged == {str(d) for d in days}
    set_sleep(ops, 0)


def test_a_run_worker_killed_mid_extract_is_failed_retried_and_leaves_no_duplicates(
        deployment: Deployment, tenants: dict[str, Tenant]) -> None:
    ops = tenants["t_ops"]
    day = BACKFILL_DAYS[0]
    set_sleep(ops, 120)
    backfill_id = submit_backfill(deployment, "t_ops", (day,), "slow_orders")
    with deployment.instance() as instance:
        eventually(lambda: active_queries(ops, "slow_orders"), "the extract's query",
                   RUN_TIMEOUT_S, 0.5)
        run = eventually(lambda: started_run(instance, backfill_id), "the started run", 30)
        pid = eventually(lambda: worker_pid(instance, run.run_id), "the run worker's pid", 30)
        set_sleep(ops, 0)  # for the retry; the killed query has already read it
        os.kill(pid, signal.SIGKILL)
        killed_at = time.time()
        failed = eventually(lambda: finished(instance, run.run_id), "the killed run's end", 120)
        assert failed.status == dg.DagsterRunStatus.FAILURE
        record = instance.get_run_record_by_id(run.run_id)
        assert record is not None and record.end_time is not None
        # Run monitoring polls every 2 s here; the run is failed well within its start timeout.
        assert record.end_time - killed_at < 30, record.end_time - killed_at

        def retried() -> dg.DagsterRun | None:
            runs = instance.get_runs(filters=RunsFilter(tags={"dagster/parent_run_id":
                                                              run.run_id}))
            return runs[0] if runs and runs[0].is_finished else None

        retry = eventually(retried, "the retry of the killed run", RUN_TIMEOUT_S)
        assert retry.status == dg.DagsterRunStatus.SUCCESS, messages(instance, retry.run_id)
        assert retry.tags["dagster/retry_number"] == "1"
    expected = source_days(ops, (day,))
    assert {str(day): warehouse_days(deployment, "t_ops", "slow_orders")[str(day)]} == expected
    with postgres.connect(ops.server) as conn:  # the killed worker's query sleeps on
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE usename = %s AND query ILIKE '%%slow_orders%%'", (ops.id,))


def test_the_source_stopped_during_a_run_is_survived_by_the_retry_policy(
        deployment: Deployment, tenants: dict[str, Tenant]) -> None:
    ops = tenants["t_ops"]
    days = BACKFILL_DAYS[1:4]
    set_sleep(ops, 2)  # per query: one per day (backfill.days_per_scan: 1)
    backfill_id = submit_backfill(deployment, "t_ops", days, "slow_orders")
    eventually(lambda: active_queries(ops, "slow_orders"), "the extract's query",
               RUN_TIMEOUT_S, 0.2)
    postgres.outage(ops.server, 4)
    with deployment.instance() as instance:
        status = eventually(lambda: backfill_done(instance, backfill_id), "the backfill",
                            BACKFILL_TIMEOUT_S, 2)
        runs = records(instance, **{"dagster/backfill": backfill_id})
        logs = [m for r in runs for m in messages(instance, r.dagster_run.run_id)]
        assert status == "COMPLETED_SUCCESS", failure_lines(instance, runs)
        assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert all("dagster/parent_run_id" not in r.dagster_run.tags for r in runs)
        retries = [m for m in logs if "transient failure" in m]
        assert retries, "the outage did not reach the run"
    set_sleep(ops, 0)
    loaded = warehouse_days(deployment, "t_ops", "slow_orders")
    expected = source_days(ops, days)
    assert {d: loaded.get(d) for d in expected} == expected


def test_a_permanent_error_fails_at_once_and_is_not_retried(deployment: Deployment) -> None:
    backfill_id = submit_backfill(deployment, "t_ops", BACKFILL_DAYS[:1], "ghost")
    with deployment.instance() as instance:
        eventually(lambda: backfill_done(instance, backfill_id), "the backfill",
                   BACKFILL_TIMEOUT_S, 1)
        (record,) = records(instance, **{"dagster/backfill": backfill_id})
        run = record.dagster_run
        assert run.status == dg.DagsterRunStatus.FAILURE
        logs = messages(instance, run.run_id)
        assert any("no_such_table" in m for m in logs), logs[-5:]
        assert not any("transient failure" in m for m in logs)
        day = str(BACKFILL_DAYS[0])
        extract = naming.asset_key("t_ops", "extract", "ghost")
        assert deployment.ui().asset_days(extract, [day]) == {day: "FAILED"}
        time.sleep(15)  # run retries react within seconds to a failed run
        assert not records(instance, **{"dagster/parent_run_id": run.run_id})


def test_a_run_past_its_tenants_max_runtime_is_stopped_by_run_monitoring(
        deployment: Deployment, tenants: dict[str, Tenant]) -> None:
    ops = tenants["t_ops"]
    set_sleep(ops, 110)  # longer than the run may take, shorter than the statement timeout
    backfill_id = submit_backfill(deployment, "t_ops", BACKFILL_DAYS[4:5], "slow_orders")
    with deployment.instance() as instance:
        eventually(lambda: active_queries(ops, "slow_orders"), "the extract's query",
                   RUN_TIMEOUT_S, 0.5)
        run = eventually(lambda: started_run(instance, backfill_id), "the started run", 30)
        assert run.tags[naming.MAX_RUNTIME_TAG] == str(MAX_RUNTIME_S)
        set_sleep(ops, 0)  # for a retry; the running query has already read it
        ended = eventually(lambda: finished(instance, run.run_id), "the run's end",
                           MAX_RUNTIME_S + 90)
        record = instance.get_run_record_by_id(run.run_id)
        assert record is not None and record.start_time and record.end_time
        took = record.end_time - record.start_time
        assert ended.status == dg.DagsterRunStatus.FAILURE, ended.status
        assert MAX_RUNTIME_S <= took < MAX_RUNTIME_S + 30, took
        assert any(f"maximum runtime of {MAX_RUNTIME_S} seconds" in m
                   for m in messages(instance, run.run_id))

        def settled() -> bool | None:  # the retry (runs.max_retries: 1) must not outlive the test
            runs = records(instance, **{"dagster/backfill": backfill_id})
            retries = records(instance, **{"dagster/parent_run_id": run.run_id})
            return all(r.dagster_run.is_finished for r in [*runs, *retries]) or None

        eventually(settled, "the backfill's runs and retries", RUN_TIMEOUT_S, 2)
    with postgres.connect(ops.server) as conn:  # the stopped worker's query sleeps on
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE usename = %s AND query ILIKE '%%slow_orders%%'", (ops.id,))


def test_each_code_server_and_its_runs_see_only_their_tenants_secrets(
        deployment: Deployment, tenants: dict[str, Tenant]) -> None:
    secrets = {t.password_env: t.password for t in tenants.values()}
    pids = deployment.pids()
    for tenant in tenants.values():
        environs = {pid: environ_of(pid) for pid in process_tree(pids[f"code-server-{tenant.id}"])}
        alive = {pid: env for pid, env in environs.items() if env is not None}
        assert len(alive) >= 2  # the proxy and the gRPC server it runs
        for pid, env in alive.items():
            visible = {k for k in env if k in secrets}
            assert visible == {tenant.password_env}, (tenant.id, pid, visible)
            assert env[tenant.password_env] == tenant.password
    for pid in process_tree(pids["daemon"]):
        assert not {k for k in environ_of(pid) or {} if k in secrets}
    for tenant in ORDERS_TENANTS:  # written by the tenant's own transfer code, in its runs
        assert seen_env(deployment.tenants_dir, tenants[tenant]) == \
            [tenants[tenant].password_env]


def test_each_code_servers_grpc_server_waits_long_for_the_proxys_heartbeat(
        deployment: Deployment, tenants: dict[str, Tenant]) -> None:
    """The gRPC server a code server's proxy runs shuts itself down after this long without
    the proxy's heartbeat: the deployment's, not Dagster's 30 s, which a loaded 2-core
    machine went past (bench/fleet_day.py) and lost every tenant of the code server."""
    import psutil

    def command_line(pid: int) -> list[str]:
        try:
            return psutil.Process(pid).cmdline()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):  # a child that ended meanwhile
            return []

    pids = deployment.pids()
    for tenant in tenants.values():
        commands = [command_line(pid)
                    for pid in process_tree(pids[f"code-server-{tenant.id}"])[1:]]
        grpc = [c for c in commands if "grpc" in c and "--heartbeat-timeout" in c]
        assert grpc, (tenant.id, commands)
        for command in grpc:
            assert command[command.index("--heartbeat-timeout") + 1] == str(
                CODE_SERVER_HEARTBEAT_TTL_S), command


def test_code_servers_and_runs_hold_an_instance_login_that_cannot_change_the_schema(
        deployment: Deployment, tenants: dict[str, Tenant], postgres_server: Service) -> None:
    """Dagster needs the instance in code servers (sensor ticks) and their run workers; they
    get a login of their own that may change rows of Dagster's tables, while the daemon keeps
    the owner's. Every run of the tests above ran with it."""
    login = str(deployment.state["code_login"])
    pids = deployment.pids()
    password = None
    for name, root in pids.items():
        for pid in process_tree(root):
            env = environ_of(pid)
            if env is None:
                continue
            if name.startswith("code-server-"):
                assert env["DAGSTER_PG_USER"] == login, (name, pid)
                assert env["DAGSTER_PG_PASSWORD"] != postgres_server.password, (name, pid)
                password = env["DAGSTER_PG_PASSWORD"]
            else:
                assert env["DAGSTER_PG_USER"] == postgres_server.user, (name, pid)
    assert password is not None and login != postgres_server.user
    for tenant in ORDERS_TENANTS:  # the runs of the backfills, written by the tenant's code
        assert seen_pg_user(deployment.tenants_dir, tenants[tenant]) == login, tenant
    database = deployment.env["DAGSTER_PG_DB"]
    with psycopg.connect(host=postgres_server.host, port=postgres_server.port, user=login,
                         password=password, dbname=database, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM runs").fetchone()
        assert row is not None and int(row[0]) > 0  # type: ignore[call-overload]
        for statement in ("CREATE TABLE etl_probe (x integer)", "DROP TABLE runs",
                          "ALTER TABLE runs ADD COLUMN etl_probe integer", "TRUNCATE runs",
                          "CREATE SCHEMA etl_probe", "CREATE ROLE etl_probe"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM pg_authid")  # the owner's password hashes


def test_nothing_is_left_behind_and_the_deployment_stops_cleanly(
        deployment: Deployment, s3_server: Service) -> None:
    client = s3.client(s3_server)
    bucket = str(deployment.state["bucket"])
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    staged = [k for k in keys if f"/{naming.STAGING_DIR}/" in k and not k.endswith("/")]
    assert keys and not staged  # (a folder marker pyarrow leaves is no file)
    processes = [pid for root in deployment.pids().values() for pid in process_tree(root)]
    assert deployment.stop() == 0, deployment.log.read_text()
    eventually(lambda: not any(alive(pid) for pid in processes), "every process stopped", 30)
    assert "stopping" not in deployment.log.read_text()  # no process died before the stop
