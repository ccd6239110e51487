"""Alerts through the deployment: ``etl deploy up``'s daemon runs each tenant's alert sensors in
the tenant's own code server, which sends to a real HTTP receiver and a real SMTP server
(aiosmtpd) on loopback.

A failed run, a failed blocking check and a missed deadline each arrive once at every
destination, with their content; a receiver that is down changes no run and gets its alert
once it is back; restarting the whole deployment sends nothing again; the alert secrets are
only in their tenant's process and in nothing the instance stores.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import RunsFilter

from etl.config.config_loader import load_tenant_config
from etl.deploy.environment import tenant_variables
from tests.alert_receivers import HttpReceiver, SmtpReceiver
from tests.deploy.support import (
    BACKFILL_DAYS,
    ROWS_PER_DAY,
    Deployment,
    Tenant,
    create_source,
    environ_of,
    eventually,
    new_password,
    process_tree,
    start_again,
    start_deployment,
    write_tenant,
)
from tools.services import postgres, s3
from tools.services.base import Service

pytestmark = pytest.mark.deploy

TOKEN = f"alert-token-{secrets.token_hex(8)}"
GHOST_DAY, CHECK_DAY, DOWN_DAY, OK_DAY = (str(BACKFILL_DAYS[i]) for i in (0, 2, 5, 6))
RUN_TIMEOUT_S = 300
ALERT_TIMEOUT_S = 120

ALERTS = """\
alerts:
  ui_url: http://127.0.0.1:3000
  destinations:
    - type: slack
      url_env: T_AL_SLACK_URL
    - type: webhook
      url_env: T_AL_HOOK_URL
      headers:
        - {name: Authorization, value_env: T_AL_HOOK_TOKEN}
    - type: email
      host: 127.0.0.1
      port: SMTP_PORT
      security: none
      from: etl@example.com
      to: [ops@example.com]
"""
CHECK_RULE = f"""\
      primary_key: [id]
      checks:
        rules:
          - type: expression
            name: not_on_check_day
            sql: "CAST(created_at AS DATE) <> DATE '{CHECK_DAY}'"
            blocking: true
"""
FRESHNESS = """\
freshness:
  deadline: "HH:MM"
alerts:
  destinations:
    - {type: webhook, url_env: T_FR_HOOK_URL, events: [freshness_missed]}
"""


@pytest.fixture(scope="module")
def http() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def tenants(postgres_server: Service) -> dict[str, Tenant]:
    found = {"t_al": Tenant("t_al", postgres_server, new_password(), ops=True),
             "t_fr": Tenant("t_fr", postgres_server, new_password(), schedule=True)}
    for tenant in found.values():
        create_source(tenant)
    return found


def due_soon() -> dt.datetime:
    """The freshness tenant's one day is due a few minutes after the deployment starts: after
    the alert sensors' first tick (which starts their cursors), before the freshness sensor's
    second tick (every 5 minutes), which records it missing."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).replace(second=0, microsecond=0)


def write_alert_tenants(tenants_dir: Path, tenants: dict[str, Tenant], bucket: s3.S3Bucket,
                        warehouses: Path, smtp: SmtpReceiver, deadline: dt.datetime) -> None:
    for tenant in tenants.values():
        write_tenant(tenants_dir, tenant, bucket, warehouses)
    al = tenants_dir / "t_al" / "config.yaml"
    text = al.read_text().replace("      primary_key: [id]\n", CHECK_RULE, 1)
    al.write_text(text + ALERTS.replace("SMTP_PORT", str(smtp.port)))
    fr = tenants_dir / "t_fr" / "config.yaml"
    text = fr.read_text().replace('cron: "* * * * *"', 'cron: "0 0 1 1 *"')
    day = deadline.date() - dt.timedelta(days=1)
    text = re.sub(r"start_date: \S+", f"start_date: {day}", text)
    fr.write_text(text + FRESHNESS.replace("HH:MM", f"{deadline:%H:%M}"))


def secrets_of(tenants_dir: Path, tenants: dict[str, Tenant], bucket: s3.S3Bucket,
               http: HttpReceiver) -> dict[str, str]:
    """Every variable the tenants' configs name, with its value."""
    alert = {"T_AL_SLACK_URL": http.url(f"/slack/{TOKEN}"), "T_AL_HOOK_URL": http.url("/hook"),
             "T_AL_HOOK_TOKEN": f"Bearer {TOKEN}", "T_FR_HOOK_URL": http.url("/fresh")}
    values: dict[str, str] = {}
    for tenant in tenants.values():
        config = load_tenant_config(tenant.id, tenants_dir).config
        for name in tenant_variables(config):
            values[name] = alert.get(name) or (
                tenant.password if name.endswith("DB_PASSWORD") else
                bucket.access_key if name.endswith("LAKE_ACCESS_KEY") else bucket.secret_key)
    return values


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, postgres_server: Service,
               s3_server: Service, tenants: dict[str, Tenant], http: HttpReceiver,
               smtp: SmtpReceiver) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("alerts")
    instance_db = f"dagster_{uuid.uuid4().hex[:8]}"
    postgres.create_database(postgres_server, instance_db)
    bucket = s3.create_bucket(s3_server, f"alerts-{uuid.uuid4().hex[:8]}")
    tenants_dir = root / "tenants"
    deadline = due_soon()
    write_alert_tenants(tenants_dir, tenants, bucket, root / "warehouses", smtp, deadline)
    env = {**os.environ, **secrets_of(tenants_dir, tenants, bucket, http),
           "ETL_TENANTS_DIR": str(tenants_dir), "DAGSTER_HOME": str(root / "home"),
           "DAGSTER_PG_HOST": postgres_server.host, "DAGSTER_PG_PORT": str(postgres_server.port),
           "DAGSTER_PG_USER": postgres_server.user, "DAGSTER_PG_DB": instance_db,
           "DAGSTER_PG_PASSWORD": postgres_server.password}
    saved = dict(os.environ)
    os.environ.update(env)
    state: dict[str, Any] = {"deployment": start_deployment(root / "home", tenants_dir, env),
                             "db": instance_db, "root": root, "deadline": deadline}
    try:
        yield state
    finally:
        state["deployment"].stop()
        os.environ.clear()
        os.environ.update(saved)
        s3.delete_bucket(s3_server, bucket.bucket)
        postgres.drop_database(postgres_server, instance_db)


# --- helpers -----------------------------------------------------------------------------------

def submit(deployment: Deployment, day: str, pipeline: str) -> str:
    out = deployment.etl("backfill", "t_al", "--from", day, "--to", day, "--pipeline", pipeline,
                         "--submit")
    found = re.search(r"^t_al: backfill (\S+) of daily_etl_job", out, re.M)
    assert found, out
    return found.group(1)


def finished_run(deployment: Deployment, backfill_id: str) -> dg.DagsterRun:
    """The backfill's one run, once it and the backfill are done."""
    with deployment.instance() as instance:
        def done() -> dg.DagsterRun | None:
            backfill = instance.get_backfill(backfill_id)
            runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id}))
            if backfill is None or backfill.status.value in ("REQUESTED", "CANCELING"):
                return None
            return runs[0] if len(runs) == 1 and runs[0].is_finished else None

        return eventually(done, f"the run of backfill {backfill_id}", RUN_TIMEOUT_S, 2)


def hook(http: HttpReceiver, event: str, **fields: Any) -> list[dict[str, Any]]:
    return [b for b in http.bodies("/hook")
            if b.get("event") == event and all(b.get(k) == v for k, v in fields.items())]


def slack(http: HttpReceiver, needle: str) -> list[str]:
    return [b["text"] for b in http.bodies(f"/slack/{TOKEN}") if needle in b["text"]]


def mails(smtp: SmtpReceiver, needle: str) -> list[str]:
    return [str(m["Subject"]) for m in smtp.messages if needle in str(m["Subject"])]


def arrived(what: str, found: Any) -> Any:
    return eventually(lambda: found(), what, ALERT_TIMEOUT_S, 1)


# --- the tests ---------------------------------------------------------------------------------

def test_a_failed_run_is_alerted_once_at_every_destination(
        deployment: dict[str, Any], http: HttpReceiver, smtp: SmtpReceiver) -> None:
    run = finished_run(deployment["deployment"], submit(deployment["deployment"], GHOST_DAY,
                                                        "ghost"))
    assert run.status == dg.DagsterRunStatus.FAILURE
    (body,) = arrived("the webhook's run alert", lambda: hook(http, "run_failed",
                                                              run_id=run.run_id))
    assert body["tenant"] == "t_al" and body["job"] == "daily_etl_job"
    assert body["days"] == GHOST_DAY and body["failed_days"] == [GHOST_DAY]
    assert any(r.startswith(f"extract of t_al/ghost [{GHOST_DAY}]: ") and "no_such_table" in r
               for r in body["reason"]), body["reason"]
    assert body["url"] == f"http://127.0.0.1:3000/runs/{run.run_id}"
    (text,) = arrived("the slack run alert", lambda: slack(http, run.run_id))
    assert text.startswith(f"[t_al] run failed: daily_etl_job [{GHOST_DAY}]\n")
    assert f"Failed days: {GHOST_DAY}" in text
    arrived("the e-mail", lambda: mails(smtp, f"run failed: daily_etl_job [{GHOST_DAY}]"))
    time.sleep(35)  # another tick of both sensors: still one each
    assert len(hook(http, "run_failed", run_id=run.run_id)) == 1
    assert len(slack(http, run.run_id)) == 1
    assert len(mails(smtp, f"run failed: daily_etl_job [{GHOST_DAY}]")) == 1


def test_a_failed_blocking_check_is_alerted_with_its_count_never_its_rows(
        deployment: dict[str, Any], http: HttpReceiver, smtp: SmtpReceiver) -> None:
    run = finished_run(deployment["deployment"], submit(deployment["deployment"], CHECK_DAY,
                                                        "slow_orders"))
    assert run.status == dg.DagsterRunStatus.FAILURE  # the day was not loaded
    (body,) = arrived("the check alert", lambda: hook(http, "check_failed", day=CHECK_DAY))
    assert body["check"] == "not_on_check_day" and body["asset"] == "t_al/extract/slow_orders"
    assert body["failing_rows"] == ROWS_PER_DAY and body["run_id"] == run.run_id
    assert "sample_keys" not in body and body["url"] == (
        "http://127.0.0.1:3000/assets/t_al/extract/slow_orders?view=checks")
    first_id = (BACKFILL_DAYS.index(dt.date.fromisoformat(CHECK_DAY))) * 1000
    assert not re.search(rf"\b{first_id + 1}\b", body["text"])  # no primary-key value
    (text,) = arrived("the slack check alert", lambda: slack(http, "blocking check failed"))
    assert f"not_on_check_day on t_al/extract/slow_orders [{CHECK_DAY}]" in text
    assert f"Failing rows: {ROWS_PER_DAY}" in text
    (run_alert,) = arrived("the run alert", lambda: hook(http, "run_failed", run_id=run.run_id))
    assert run_alert["failed_days"] == [CHECK_DAY]
    assert "blocking check(s) not_on_check_day failed" in " ".join(run_alert["reason"])
    arrived("the e-mail", lambda: mails(smtp, "blocking check failed: not_on_check_day"))


def test_a_receiver_that_is_down_changes_no_run_and_gets_the_alert_once_it_is_back(
        deployment: dict[str, Any], http: HttpReceiver, smtp: SmtpReceiver) -> None:
    http.stop()
    try:
        failing = submit(deployment["deployment"], DOWN_DAY, "ghost")
        passing = submit(deployment["deployment"], OK_DAY, "slow_orders")
        assert finished_run(deployment["deployment"], failing).status == \
            dg.DagsterRunStatus.FAILURE
        assert finished_run(deployment["deployment"], passing).status == \
            dg.DagsterRunStatus.SUCCESS
        # The e-mail destination is up: the sensor has tried while the HTTP receiver was down.
        arrived("the e-mail", lambda: mails(smtp, f"run failed: daily_etl_job [{DOWN_DAY}]"))
        assert hook(http, "run_failed", days=DOWN_DAY) == []
    finally:
        http.start()
    (body,) = arrived("the webhook's alert after the outage",
                      lambda: hook(http, "run_failed", days=DOWN_DAY))
    assert body["failed_days"] == [DOWN_DAY]
    arrived("the slack alert after the outage", lambda: slack(http, f"[{DOWN_DAY}]"))
    time.sleep(35)
    assert len(hook(http, "run_failed", days=DOWN_DAY)) == 1
    assert len(slack(http, f"[{DOWN_DAY}]")) == 1
    assert len(mails(smtp, f"run failed: daily_etl_job [{DOWN_DAY}]")) == 1
    assert not slack(http, f"[{OK_DAY}]")  # the run that succeeded is no alert


def test_a_day_that_missed_its_deadline_is_alerted_once(
        deployment: dict[str, Any], http: HttpReceiver) -> None:
    deadline: dt.datetime = deployment["deadline"]
    day = str(deadline.date() - dt.timedelta(days=1))

    def missed() -> list[dict[str, Any]]:
        return [b for b in http.bodies("/fresh") if b.get("day") == day]

    wait = max(0.0, (deadline - dt.datetime.now(dt.UTC)).total_seconds()) + 300 + 90
    (body,) = eventually(missed, "the freshness alert", wait, 2)
    assert body["event"] == "freshness_missed" and body["tenant"] == "t_fr"
    assert body["pipeline"] == "orders" and body["state"] == "missing"
    assert body["deadline"].startswith(f"{deadline:%Y-%m-%dT%H:%M}")
    assert body["title"] == f"[t_fr] orders missed its deadline [{day}]"
    time.sleep(35)
    assert len(missed()) == 1
    assert all(b.get("tenant") == "t_al" for b in http.bodies("/hook"))  # t_fr's go to /fresh


def test_alert_secrets_are_in_their_tenants_process_only_and_in_nothing_stored(
        deployment: dict[str, Any], postgres_server: Service) -> None:
    pids = deployment["deployment"].pids()
    alert_vars = {"T_AL_SLACK_URL", "T_AL_HOOK_URL", "T_AL_HOOK_TOKEN"}
    for pid in process_tree(pids["code-server-t_al"]):
        env = environ_of(pid)
        assert env is None or alert_vars <= set(env), pid
    for name in ("code-server-t_fr", "daemon"):
        for pid in process_tree(pids[name]):
            assert not alert_vars & set(environ_of(pid) or {}), (name, pid)
    root: Path = deployment["root"]
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_size < 50_000_000:
            assert TOKEN not in path.read_text(errors="replace"), path
    with postgres.connect(postgres_server, deployment["db"]) as conn:
        for table, column in (("event_logs", "event"), ("kvs", "value"), ("runs", "run_body"),
                              ("job_ticks", "tick_body")):
            row = conn.execute(f"SELECT count(*) FROM {table} WHERE {column} LIKE %s",
                               (f"%{TOKEN}%",)).fetchone()
            assert row is not None and row[0] == 0, table


def test_restarting_the_deployment_sends_nothing_again(
        deployment: dict[str, Any], http: HttpReceiver, smtp: SmtpReceiver) -> None:
    before = (len(http.received), len(smtp.messages))
    old: Deployment = deployment["deployment"]
    assert old.stop() == 0
    restarted_at = time.time()
    deployment["deployment"] = start_again(old)
    with deployment["deployment"].instance() as instance:
        def ticked_since_restart() -> bool:
            states = [s for s in instance.all_instigator_state()
                      if s.instigator_name.startswith("alert_on_")]
            assert len(states) == 4, [s.instigator_name for s in states]
            return all(any(t.timestamp > restarted_at for t in instance.get_ticks(
                s.instigator_origin_id, s.selector_id, limit=5)) for s in states)

        eventually(ticked_since_restart, "a tick of every alert sensor after the restart",
                   180, 2)
    time.sleep(5)
    assert (len(http.received), len(smtp.messages)) == before
