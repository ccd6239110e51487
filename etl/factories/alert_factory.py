"""A tenant's alert sensors, in its own code location (so only its process holds its secrets).

Two sensors, only for a tenant with alert destinations, running by default unless
``alerts.enabled`` is false:

* ``alert_on_run_failure``, a Dagster run-failure sensor over the tenant's runs (in its own
  location every job of the location; in ``etl.all`` the tenant's jobs), sends one alert per
  failed run;
* ``alert_on_checks`` reads, every 30 seconds, the check results recorded since its cursor
  for the tenant's blocking checks and its ``loaded_by_deadline`` checks (also those the
  freshness sensor records outside runs), sends one alert per failed result, and retries what
  a destination did not take (:mod:`etl.alerts.dispatch`).

Both sensors only read the instance and send messages: a destination that is down never
fails or delays a run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import dagster as dg

from etl import naming
from etl.alerts.base import AlertMessage, env_values
from etl.alerts.dispatch import Alerter
from etl.alerts.messages import check_failed, run_failed
from etl.checks.planned import planned_checks
from etl.config.tenant_config import PipelineAssetConfig
from etl.factories.freshness_factory import watched
from etl.instance.private import PartitionKeyFilter
from etl.instance.run_failures import failure_causes

if TYPE_CHECKING:
    from etl.factories.context import TenantContext

INTERVAL_S = 30


def build_alerts(ctx: TenantContext, pipelines: Sequence[PipelineAssetConfig],
                 jobs: Mapping[str, dg.JobDefinition], qualified: bool
                 ) -> list[dg.SensorDefinition]:
    """The tenant's alert sensors; none without a destination."""
    if not ctx.config.alerts.destinations:
        return []
    return [_run_sensor(ctx, jobs, qualified),
            _check_sensor(ctx, alerted_checks(ctx, pipelines), qualified)]


def alerted_checks(ctx: TenantContext, pipelines: Sequence[PipelineAssetConfig]
                   ) -> list[dg.AssetCheckKey]:
    """The checks whose failures are alerts: blocking ones, and the freshness checks, as far
    as some destination takes their event."""
    wanted = {e for d in ctx.config.alerts.destinations for e in d.events}
    keys: list[dg.AssetCheckKey] = []
    if "check_failed" in wanted:
        for p in pipelines:
            keys += [naming.check_key(ctx.tenant, c.stage, p.name, c.name)
                     for c in planned_checks(p) if c.blocking]
            if p.save_to_trino:
                keys.append(naming.check_key(ctx.tenant, "load", p.name, naming.RECONCILE_CHECK))
    if "freshness_missed" in wanted:
        keys += [dg.AssetCheckKey(k, naming.FRESHNESS_CHECK) for k in watched(ctx, pipelines)]
    return keys


def _status(ctx: TenantContext) -> dg.DefaultSensorStatus:
    return (dg.DefaultSensorStatus.RUNNING if ctx.config.alerts.enabled
            else dg.DefaultSensorStatus.STOPPED)


def _alerter(ctx: TenantContext, instance: dg.DagsterInstance,
             log: logging.Logger) -> Alerter:
    return Alerter(instance, ctx.tenant, ctx.config.alerts, log, env_values(ctx.config))


def _run_sensor(ctx: TenantContext, jobs: Mapping[str, dg.JobDefinition], qualified: bool
                ) -> dg.SensorDefinition:
    config = ctx.config

    @dg.run_failure_sensor(
        name=naming.job_name(ctx.tenant, naming.ALERT_RUN_SENSOR, qualified=qualified),
        monitored_jobs=list(jobs.values()) if qualified else None,
        minimum_interval_seconds=INTERVAL_S, default_status=_status(ctx),
        description=f"[{ctx.tenant}] sends an alert for each failed run of the tenant.")
    def _on_failure(context: dg.RunFailureSensorContext) -> None:
        run = context.dagster_run
        alerter = _alerter(ctx, context.instance, context.log)
        message = run_failed(run, failure_causes(context.instance, run.run_id),
                             context.failure_event.message, ctx.tenant,
                             config.alerts.ui_url, alerter.secrets)
        if not alerter.deliver(message):
            alerter.remember_run(message.key)

    return _on_failure


def _check_sensor(ctx: TenantContext, checks: list[dg.AssetCheckKey], qualified: bool
                  ) -> dg.SensorDefinition:
    @dg.sensor(name=naming.job_name(ctx.tenant, naming.ALERT_CHECK_SENSOR, qualified=qualified),
               minimum_interval_seconds=INTERVAL_S, default_status=_status(ctx),
               description=f"[{ctx.tenant}] sends an alert for each failed blocking check and "
                           "missed deadline, and retries alerts not yet delivered.")
    def _tick(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        cursor = json.loads(context.cursor) if context.cursor else {}
        alerter = _alerter(ctx, context.instance, context.log)
        alerter.flush_summary()
        left = alerter.retry([*cursor.get("pending", []), *alerter.pending()])
        pending = [k for k in left if k.startswith("check.")]
        after, sent = cursor.get("after"), 0
        storage = context.instance.event_log_storage
        if after is None:  # first tick: results from now on
            infos = storage.get_asset_check_partition_info(checks) if checks else []
            after = max((i.latest_check_event_storage_id for i in infos), default=0)
        elif checks:
            infos = sorted((i for i in storage.get_asset_check_partition_info(
                checks, after_storage_id=after) if i.latest_check_event_storage_id > after),
                key=lambda i: i.latest_check_event_storage_id)
            for info in infos:
                after = max(after, info.latest_check_event_storage_id)
                if info.latest_execution_status.value != "FAILED":
                    continue
                message = _check_message(ctx, context.instance, info.check_key,
                                         info.partition_key, info.latest_check_event_storage_id)
                sent += 1
                if not alerter.deliver(message):
                    pending.append(message.key)
        context.update_cursor(json.dumps({"after": after, "pending": pending}))
        return dg.SkipReason(f"{sent} failed check result(s) alerted; {len(left)} alert(s) "
                             "waiting for a retry")

    return _tick


def _check_message(ctx: TenantContext, instance: dg.DagsterInstance, check: dg.AssetCheckKey,
                   day: str | None, storage_id: int) -> AlertMessage:
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [check], partition_filter=PartitionKeyFilter(key=day))
    record = records.get(check)
    event = record.event.dagster_event if record is not None and record.event else None
    data = event.event_specific_data if event is not None else None
    evaluation = data if isinstance(data, dg.AssetCheckEvaluation) else None
    run_id = record.run_id if record is not None else None
    return check_failed(ctx.tenant, check, day, storage_id, evaluation, run_id,
                        ctx.config.alerts.ui_url)
