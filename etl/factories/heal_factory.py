"""The heal sensor: after each successful reconcile run, one run of the days that differ.

With ``reconcile.heal: true`` a tenant gets ``heal_sensor``, a run-status sensor on its
``reconcile_job``: it reads the run's ``matches_source`` results and requests one run of
``daily_etl_job`` for the days that differ (:mod:`etl.instance.healing`), tagged ``etl/reason:
heal``. It runs when deployed with ``schedule.enabled``, like the schedules.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from etl import naming
from etl.config.tenant_config import TenantConfig
from etl.instance.healing import findings, plan_heal


def build_heal_sensors(tenant: str, config: TenantConfig, jobs: Mapping[str, dg.JobDefinition],
                       qualified: bool) -> list[dg.SensorDefinition]:
    reconcile, daily = jobs.get(naming.RECONCILE_JOB), jobs.get(naming.DAILY_ETL_JOB)
    if not config.reconcile.heal or reconcile is None or daily is None:
        return []
    most = config.reconcile.max_days_per_heal
    status = (dg.DefaultSensorStatus.RUNNING if config.schedule.enabled
              else dg.DefaultSensorStatus.STOPPED)
    keys = sorted(daily.asset_layer.selected_asset_keys, key=lambda k: list(k.path))

    @dg.run_status_sensor(
        name=naming.job_name(tenant, naming.HEAL_SENSOR, qualified=qualified),
        run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[reconcile], request_job=daily,
        default_status=status,
        description=f"[{tenant}] after each reconcile run, one daily_etl_job run of the days "
                    f"that differ from the source (at most {most}).")
    def _heal(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
        run_id = context.dagster_run.run_id
        plan = plan_heal(findings(context.instance, run_id), most)
        if not plan.days:
            return dg.SkipReason(f"reconcile run {run_id}: no day differs")
        return dg.RunRequest(run_key=f"heal {run_id}", tags=plan.tags(run_id),
                             asset_selection=plan.assets(keys), asset_check_keys=[])

    return [_heal]
