"""Alerts: messages, delivery to a real HTTP server and a real SMTP server on loopback,
deduplication, retries, rate limits and the config's common defaults."""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from etl.alerts.base import AlertMessage
from etl.alerts.dispatch import Alerter
from etl.alerts.messages import check_failed, run_failed
from etl.config.alerts import AlertsConfig
from etl.config.config_loader import load_tenant_config
from etl.config.errors import ConfigError
from etl.deploy.environment import tenant_variables
from tests.alert_receivers import HttpReceiver, SmtpReceiver
from tests.helpers import copy_tenants
from tests.strict import missing

TOKEN = "T0KEN-hooks-s3cret-0123456789"


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")


def logger() -> tuple[logging.Logger, Captured]:
    log = logging.getLogger(f"alerts-test-{id(object())}")
    captured = Captured()
    log.addHandler(captured)
    log.setLevel(logging.INFO)
    return log, captured


def alerts(http: HttpReceiver, smtp: SmtpReceiver | None = None, **extra: Any) -> AlertsConfig:
    destinations: list[dict[str, Any]] = [
        {"type": "slack", "url_env": "T1_SLACK_URL"},
        {"type": "webhook", "url_env": "T1_HOOK_URL", "events": ["run_failed"],
         "headers": [{"name": "Authorization", "value_env": "T1_HOOK_TOKEN"}]},
    ]
    if smtp is not None:
        destinations.append({"type": "email", "host": "127.0.0.1", "port": smtp.port,
                             "security": "none", "from": "etl@example.com",
                             "to": ["ops@example.com", "dev@example.com"]})
    return AlertsConfig.model_validate({"destinations": destinations, **extra})


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch, http: HttpReceiver) -> None:
    monkeypatch.setenv("T1_SLACK_URL", http.url(f"/slack/{TOKEN}"))
    monkeypatch.setenv("T1_HOOK_URL", http.url("/hook"))
    monkeypatch.setenv("T1_HOOK_TOKEN", f"Bearer {TOKEN}")


def failed_run() -> dg.DagsterRun:
    return dg.DagsterRun(job_name="daily_etl_job", run_id="0f896cdb-7f56-477e-ba5a-9094f96122c1",
                         tags={"dagster/asset_partition_range_start": "2026-03-01",
                               "dagster/asset_partition_range_end": "2026-03-03"})


CAUSES = [
    "2 of 2 pipeline(s) of tenant 't1' failed [2026-03-01..2026-03-03]:\n"
    "  - extract of t1/orders [2026-03-02]: SourceError: connect to postgresql://etl:"
    "db-pass-0123456789@db/x failed (password=db-pass-0123456789)\n"
    "  - load of t1/items [2 days: 2026-03-01..2026-03-02]: WarehouseError: boom\n"
    "  - transfer of t1/lines: ValueError: no file\n"
]


def test_a_run_alert_names_the_failed_days_and_reasons_without_secrets() -> None:
    message = run_failed(failed_run(), CAUSES, None, "t1", "https://ui.example.com",
                         ["db-pass-0123456789"])
    assert message.title == "[t1] run failed: daily_etl_job [2026-03-01..2026-03-03]"
    assert message.fields["failed_days"] == ["2026-03-02", "2026-03-01..2026-03-02",
                                             "2026-03-01..2026-03-03"]
    text = message.text()
    assert "db-pass-0123456789" not in text and "db-pass" not in str(message.document())
    assert "extract of t1/orders [2026-03-02]: SourceError: connect to" in text
    assert "https://ui.example.com/runs/0f896cdb-7f56-477e-ba5a-9094f96122c1" in text
    assert message.key == "run.0f896cdb-7f56-477e-ba5a-9094f96122c1"
    # A run that died without a failed step: the run failure's own message, the run's days.
    died = run_failed(failed_run(), [], "Run worker died", "t1", None, [])
    assert died.fields["failed_days"] == ["2026-03-01..2026-03-03"]
    assert died.fields["reason"] == ["Run worker died"] and died.link is None


def test_a_check_alert_carries_counts_never_samples() -> None:
    key = dg.AssetCheckKey(dg.AssetKey(["t1", "transfer", "orders"]), "primary_key_unique")
    evaluation = dg.AssetCheckEvaluation(
        asset_key=key.asset_key, check_name=key.name, passed=False, partition="2026-03-02",
        description="3 of 40 rows fail",
        metadata={"failing_rows": 3, "sample_keys": ["secret-customer-4711"],
                  "duplicates": "alice@example.com x2"})
    message = check_failed("t1", key, "2026-03-02", 812, evaluation, "run-1", None)
    assert message.event == "check_failed" and message.fields["failing_rows"] == 3
    assert message.key == "check.t1/transfer/orders.primary_key_unique.2026-03-02.812"
    rendered = f"{message.text()} {message.document()}"
    assert "secret-customer-4711" not in rendered and "alice" not in rendered
    assert "Failing rows: 3" in message.text()
    fresh = dg.AssetCheckKey(dg.AssetKey(["t1", "load", "orders"]), "loaded_by_deadline")
    late = dg.AssetCheckEvaluation(
        asset_key=fresh.asset_key, check_name=fresh.name, passed=False, partition="2026-03-02",
        metadata={"deadline": "2026-03-03T07:00:00+09:00", "state": "missing"})
    missed = check_failed("t1", fresh, "2026-03-02", 900, late, None, "http://ui:3000")
    assert missed.event == "freshness_missed"
    assert missed.title == "[t1] orders missed its deadline [2026-03-02]"
    assert "Deadline: 2026-03-03T07:00:00+09:00" in missed.text()
    assert missed.link == "http://ui:3000/assets/t1/load/orders?view=checks"


def message(n: int = 1, event: str = "run_failed") -> AlertMessage:
    return AlertMessage(event, f"run.r{n}", "t1", f"[t1] run failed: job [{n}]",
                        ("Reason:", "  boom"), {"run_id": f"r{n}"})


def test_each_destination_gets_an_alert_once_however_often_it_is_handled(
        instance: dg.DagsterInstance, http: HttpReceiver, smtp: SmtpReceiver) -> None:
    config = alerts(http, smtp)
    for _ in range(3):  # a tick repeated after a restart reads the same record
        assert Alerter(instance, "t1", config).deliver(message())
    (slack,) = http.bodies(f"/slack/{TOKEN}")
    assert slack == {"text": "[t1] run failed: job [1]\nReason:\n  boom"}
    (hook,) = [r for r in http.received if r.path == "/hook"]
    assert hook.headers["Authorization"] == f"Bearer {TOKEN}"
    assert hook.body["event"] == "run_failed" and hook.body["run_id"] == "r1"
    (mail,) = smtp.messages
    assert mail["Subject"] == "[t1] run failed: job [1]"
    assert mail["To"] == "ops@example.com, dev@example.com"
    assert "boom" in mail.get_payload()
    # The webhook takes run_failed only.
    assert Alerter(instance, "t1", config).deliver(message(2, "check_failed"))
    assert len(http.bodies("/hook")) == 1 and len(http.bodies(f"/slack/{TOKEN}")) == 2


def test_a_receiver_that_is_down_gets_the_alert_when_it_is_back_and_the_log_has_no_secret(
        instance: dg.DagsterInstance, http: HttpReceiver) -> None:
    clock, (log, captured) = Clock(), logger()
    config = alerts(http, max_attempts=3)
    http.stop()
    alerter = Alerter(instance, "t1", config, log, clock=clock)
    assert not alerter.deliver(message())
    assert not Alerter(instance, "t1", config, log, clock=clock).retry(["run.r1"]) == []
    http.start()
    clock.now += 10  # before the next try is due: nothing is sent
    assert Alerter(instance, "t1", config, log, clock=clock).retry(["run.r1"]) == ["run.r1"]
    assert http.received == []
    clock.now += 30
    assert Alerter(instance, "t1", config, log, clock=clock).retry(["run.r1"]) == []
    assert len(http.bodies(f"/slack/{TOKEN}")) == 1 and len(http.bodies("/hook")) == 1
    logged = "\n".join(captured.lines)
    assert "WARNING [t1] run failed: job [1]: not sent to slack (try 1 of 3; next in 30 s)" \
        in logged
    assert TOKEN not in logged and "/slack/" not in logged
    assert "INFO [t1] run failed: job [1]: sent to webhook" in logged


def test_an_alert_is_dropped_after_max_attempts(instance: dg.DagsterInstance,
                                                http: HttpReceiver) -> None:
    clock, (log, captured) = Clock(), logger()
    http.status = 503
    config = alerts(http, max_attempts=2)
    assert not Alerter(instance, "t1", config, log, clock=clock).deliver(message())
    clock.now += 31
    assert Alerter(instance, "t1", config, log, clock=clock).retry(["run.r1"]) == []
    assert len(http.received) == 4  # two tries at each of the two destinations
    assert any("dropped for slack after 2 failed tries" in line and "HTTP 503" in line
               for line in captured.lines)


def test_over_max_per_hour_alerts_are_counted_and_summarized_when_the_hour_is_over(
        instance: dg.DagsterInstance, http: HttpReceiver) -> None:
    clock = Clock()
    config = alerts(http, max_per_hour=2)
    for n in range(1, 6):
        assert Alerter(instance, "t1", config, clock=clock).deliver(message(n))
    assert [b["text"].splitlines()[0] for b in http.bodies(f"/slack/{TOKEN}")] == [
        "[t1] run failed: job [1]", "[t1] run failed: job [2]"]
    clock.now += 3599
    Alerter(instance, "t1", config, clock=clock).flush_summary()
    assert len(http.bodies(f"/slack/{TOKEN}")) == 2
    clock.now += 2
    alerter = Alerter(instance, "t1", config, clock=clock)
    alerter.flush_summary()
    alerter.flush_summary()
    summary = http.bodies(f"/slack/{TOKEN}")[2]["text"]
    assert summary.startswith("[t1] 3 more alert(s) suppressed\nIn the hour from ")
    assert len(http.bodies(f"/slack/{TOKEN}")) == 3
    assert http.bodies("/hook")[-1]["suppressed"] == 3  # every destination hears of it
    assert alerter.deliver(message(6))  # the new hour has room again
    assert len(http.bodies(f"/slack/{TOKEN}")) == 4


def test_email_over_starttls_with_a_login(tmp_path: Path, instance: dg.DagsterInstance,
                                          monkeypatch: pytest.MonkeyPatch,
                                          http: HttpReceiver) -> None:
    if shutil.which("openssl") is None:  # as a missing service: a failure in strict mode
        missing("openssl is needed to make the test's certificate (apt-get install openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    smtp = SmtpReceiver(tls_context=context, login=("etl", "smtp-pass-0123456789")).start()
    monkeypatch.setenv("T1_SMTP_PASSWORD", "smtp-pass-0123456789")
    try:
        config = AlertsConfig.model_validate({"destinations": [{
            "type": "email", "host": "127.0.0.1", "port": smtp.port, "from": "etl@example.com",
            "to": ["ops@example.com"], "username": "etl", "password_env": "T1_SMTP_PASSWORD",
            "ca_file": str(cert)}]})
        assert Alerter(instance, "t1", config).deliver(message())
        (mail,) = smtp.messages
        assert mail["Subject"] == "[t1] run failed: job [1]"
        # The wrong password: refused, and the log does not repeat it.
        monkeypatch.setenv("T1_SMTP_PASSWORD", "wrong-pass-0123456789")
        log, captured = logger()
        assert not Alerter(instance, "t1", config, log).deliver(message(2))
        assert any("not sent to email via 127.0.0.1:" in line for line in captured.lines)
        assert not any("pass-0123456789" in line for line in captured.lines)
    finally:
        smtp.stop()


COMMON = """\
alerts:
  max_per_hour: 5
  ui_url: https://dagster.example.com
  destinations:
    - type: slack
      url_env: "{TENANT}_SLACK_WEBHOOK_URL"
"""


def test_common_defaults_are_inherited_key_by_key_with_the_tenants_variables(
        tmp_path: Path) -> None:
    tenants = copy_tenants(tmp_path, ("project_01",))
    common = tmp_path / "alerts.yaml"
    common.write_text(COMMON)
    loaded = load_tenant_config("project_01", tenants, common_alerts_file=common)
    config = loaded.config.alerts
    assert config.max_per_hour == 5 and config.ui_url == "https://dagster.example.com"
    assert [d.type for d in config.destinations] == ["slack"]
    assert "PROJECT_01_SLACK_WEBHOOK_URL" in tenant_variables(loaded.config)
    own = tenants / "project_01" / "config.yaml"
    own.write_text(own.read_text() + "alerts:\n  max_per_hour: 7\n  destinations:\n"
                   "    - {type: webhook, url_env: PROJECT_01_HOOK_URL, "
                   "events: [check_failed]}\n")
    config = load_tenant_config("project_01", tenants, common_alerts_file=common).config.alerts
    assert config.max_per_hour == 7 and config.ui_url == "https://dagster.example.com"
    assert [d.type for d in config.destinations] == ["webhook"]
    # A mistake in the common file is reported at its own line.
    common.write_text(COMMON.replace("max_per_hour: 5", "max_per_hour: many"))
    own.write_text(own.read_text().replace("  max_per_hour: 7\n", ""))
    with pytest.raises(ConfigError) as info:
        load_tenant_config("project_01", tenants, common_alerts_file=common)
    (issue,) = info.value.issues
    assert issue.file.endswith("alerts.yaml") and issue.line == 2, issue
    common.write_text("alert:\n  max_per_hour: 5\n")
    with pytest.raises(ConfigError, match="unknown field 'alert'; this file holds only"):
        load_tenant_config("project_01", tenants, common_alerts_file=common)


def test_only_blocking_checks_and_deadlines_a_destination_takes_are_watched(
        tmp_path: Path) -> None:
    from etl.factories.alert_factory import alerted_checks
    from etl.factories.context import TenantContext
    from etl.utils.days import daily_partitions

    tenants = copy_tenants(tmp_path, ("project_01",))
    own = tenants / "project_01" / "config.yaml"
    base = own.read_text()
    keys = {}
    for events in ("[check_failed]", "[freshness_missed]", "[run_failed]"):
        own.write_text(base + "alerts:\n  destinations:\n    - {type: slack, url_env: "
                       f"PROJECT_01_SLACK_URL, events: {events}}}\n")
        config = load_tenant_config("project_01", tenants).config
        ctx = TenantContext(config, daily_partitions(config.schedule.start_date,
                                                     config.schedule.timezone), {})
        keys[events] = {k.to_user_string() for k in alerted_checks(ctx, config.assets.enabled)}
    checks = keys["[check_failed]"]
    assert "project_01/transfer/production_result:primary_key_unique" in checks
    assert "project_01/load/production_result:row_count_matches_parquet" in checks
    assert not any(k.endswith(":loaded_by_deadline") for k in checks)
    warn = [r.check_name for p in config.assets.enabled for r in p.checks.rules if not r.blocking]
    assert warn and not any(k.endswith(f":{name}") for k in checks for name in warn)
    assert keys["[freshness_missed]"] and all(
        k.endswith(":loaded_by_deadline") for k in keys["[freshness_missed]"])
    assert keys["[run_failed]"] == set()
