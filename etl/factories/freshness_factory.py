"""Freshness: a partitioned check per daily pipeline, evaluated by a sensor per tenant.

The check (``loaded_by_deadline``) sits on each daily pipeline's last stage and is recorded per
day. The sensor records each day's result at its first tick after the deadline, straight into
the instance (no run to launch), and knows which days are done from the instance itself, so a
reset sensor repeats nothing. The same evaluation runs when the check is executed from the UI,
for the days selected there. Dagster's ``build_time_partition_freshness_checks`` was not
used: it is superseded in 1.13 and its result carries no partition, so the asset page could not
say which day was late.
"""

import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg

from etl import naming
from etl.config.tenant_config import PipelineAssetConfig
from etl.instance.private import COMPLETED_CHECK_STATUSES
from etl.stages.events import check_evaluation
from etl.stages.freshness import Deadlines, FreshnessResult, evaluate
from etl.stages.latest import LatestMaterializations
from etl.stages.stamps import with_target

if TYPE_CHECKING:
    from etl.factories.context import TenantContext


def watched(ctx: "TenantContext", pipelines: Sequence[PipelineAssetConfig]
            ) -> dict[dg.AssetKey, Deadlines]:
    """The last-stage asset of each daily pipeline with freshness on, and its deadlines."""
    config = ctx.config
    return {
        naming.asset_key(ctx.tenant, p.last_stage, p.name): Deadlines(config.freshness_of(p),
                                                                       config.schedule)
        for p in pipelines if p.is_partitioned and config.freshness_of(p).enabled
    }


def build_freshness(ctx: "TenantContext", pipelines: Sequence[PipelineAssetConfig],
                    qualified: bool
                    ) -> tuple[list[dg.AssetChecksDefinition], list[dg.SensorDefinition]]:
    """The tenant's freshness checks and their sensor (none without a daily pipeline)."""
    keys = watched(ctx, pipelines)
    if not keys:
        return [], []
    return [_checks(ctx, keys)], [_sensor(ctx, keys, qualified)]


def _specs(ctx: "TenantContext", keys: Mapping[dg.AssetKey, Deadlines]) -> list[dg.AssetCheckSpec]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return [dg.AssetCheckSpec(naming.FRESHNESS_CHECK, asset=key, blocking=False,
                                  partitions_def=ctx.partitions_def,
                                  description=deadlines.describe())
                for key, deadlines in keys.items()]


def _checks(ctx: "TenantContext", keys: Mapping[dg.AssetKey, Deadlines]
            ) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(specs=_specs(ctx, keys), can_subset=True,
                          name=naming.freshness_op_name(ctx.tenant),
                          description=f"[{ctx.tenant}] days loaded by their deadline")
    def _run(context: dg.AssetCheckExecutionContext) -> Iterator[Any]:
        from dagster._time import get_current_datetime

        now = get_current_datetime()
        partitioned = context.has_partition_key or context.has_partition_key_range
        days = sorted(context.partition_keys) if partitioned else []
        for check in context.selected_asset_check_keys:
            deadlines = keys[check.asset_key]
            due = [d for d in days if deadlines.of(d) <= now]
            for skipped in sorted(set(days) - set(due)):
                context.log.info(f"{check.asset_key.to_user_string()} [{skipped}]: not due "
                                 f"until {deadlines.of(skipped).isoformat()}; not evaluated")
            latest = LatestMaterializations(context.instance, due)
            for result in evaluate(context.instance, check.asset_key, due, deadlines):
                yield with_target(_event(check.asset_key, result), latest)
        specs = context.op_execution_context.assets_def.check_specs_by_output_name
        for output, spec in specs.items():
            if spec.key in context.selected_asset_check_keys:  # each day was recorded above
                yield dg.Output(None, output_name=output)

    return _run


def _event(key: dg.AssetKey, result: FreshnessResult) -> dg.AssetCheckEvaluation:
    return check_evaluation(key, naming.FRESHNESS_CHECK, result.day, result.passed,
                            result.description, result.metadata, blocking=False)


def _sensor(ctx: "TenantContext", keys: Mapping[dg.AssetKey, Deadlines], qualified: bool
            ) -> dg.SensorDefinition:
    status = (dg.DefaultSensorStatus.RUNNING if ctx.config.schedule.enabled
              else dg.DefaultSensorStatus.STOPPED)

    @dg.sensor(name=naming.job_name(ctx.tenant, naming.FRESHNESS_SENSOR, qualified=qualified),
               minimum_interval_seconds=300, default_status=status,
               description=f"[{ctx.tenant}] records each day's {naming.FRESHNESS_CHECK} result "
                           "once its deadline has passed.")
    def _tick(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        from dagster._time import get_current_datetime

        events = freshness_events(context.instance, keys, get_current_datetime())
        return dg.SensorResult(asset_events=events, skip_reason=tick_summary(events))

    return _tick


def tick_summary(events: Sequence[dg.AssetCheckEvaluation], shown: int = 10) -> str:
    """What a tick recorded, as its entry in the UI says it (it launches no run)."""
    if not events:
        return "no day reached its deadline since the last result; nothing recorded"
    late = [e for e in events if not e.passed]
    listed = [f"{e.asset_key.path[-1]} {e.partition}: {e.description}" for e in late[:shown]]
    more = f"; and {len(late) - shown} more" if len(late) > shown else ""
    return (f"recorded {naming.FRESHNESS_CHECK} for {len(events)} day(s), "
            f"{len(events) - len(late)} on time, {len(late)} missed"
            + (f": {'; '.join(listed)}{more}" if listed else ""))


def freshness_events(instance: dg.DagsterInstance, keys: Mapping[dg.AssetKey, Deadlines],
                     now: Any) -> list[dg.AssetCheckEvaluation]:
    """The evaluations to record at ``now``: every due day that has no result yet.

    Each day is recorded once, at the first tick after its deadline, as on time, missing or
    late, naming the day's materialization it judged. Only a finished result counts as recorded:
    a run that selected the check without evaluating it (planned, then skipped) leaves a record
    that does not. The instance keeps one result per day recorded outside a run (a second one
    for the same day is refused), so a day that arrives after it was recorded missing keeps
    that result; executing the check from the UI records a fresh one ("loaded ... late").
    """
    events: list[dg.AssetCheckEvaluation] = []
    for key, deadlines in keys.items():
        due = deadlines.due(now)
        if not due:
            continue
        check = dg.AssetCheckKey(key, naming.FRESHNESS_CHECK)
        recorded = {info.partition_key for info in
                    instance.event_log_storage.get_asset_check_partition_info(
                        [check], partition_keys=due)
                    if info.latest_execution_status in COMPLETED_CHECK_STATUSES}
        todo = [d for d in due if d not in recorded]
        latest = LatestMaterializations(instance, todo)
        events.extend(with_target(_event(key, result), latest)
                      for result in evaluate(instance, key, todo, deadlines))
    return events
