"""A history with what makes "a day's latest" hard, and the check that :class:`DayRecords`
(and the storages' prefetched planned materializations) read it as Dagster's own reads do.

On top of a range run's events (:mod:`tests.event_storage`: each day's materialization and
check result, one day failing, a day judged twice by another run; replayed, so the storage ids
their results name are the recording instance's): a day materialized again after its check
(the result is no longer current), a day whose check ran with no materialization named, a day
materialized and judged naming it (current), an asset materialized without a partition (which
Dagster counts as every day's latest), an asset wiped and materialized again (PostgreSQL keeps
its old events, SQLite's index drops them), and row counts written in every way a
materialization can carry them (none, in a text that quotes the label, after other entries).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from etl.instance.day_records import DayRecords
from etl.instance.prefetch import PrefetchedReads, planned_prefetched
from etl.instance.private import BatchedReads, CheckTarget, partition_subsets
from tests.event_storage import CHECK, DAYS, STAGES, recorded_events

WIPED = dg.AssetKey(["t", "transfer", "p"])
UNCHECKED = "never_ran"
WINDOW = DAYS.get_partition_keys()[:14]  # 12 days recorded, 2 never run
REMATERIALIZED = WINDOW[2]
JUDGED_BLIND = WINDOW[3]
JUDGED_NOW = WINDOW[5]


@dg.op
def later_history(context) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    extract, load = STAGES
    yield dg.AssetMaterialization(asset_key=load, partition=REMATERIALIZED, metadata={
        "note": 'copied "label": "dagster/row_count" from a log', "dagster/row_count": 77})
    yield dg.AssetMaterialization(asset_key=load, partition=WINDOW[4], metadata={"other": 1})
    context.log_event(dg.AssetCheckEvaluation(asset_key=load, check_name=CHECK, passed=False,
                                              partition=JUDGED_BLIND))
    yield dg.AssetMaterialization(asset_key=load, partition=JUDGED_NOW, metadata={
        "dagster/row_count": 6})
    (newest,) = context.instance.fetch_materializations(dg.AssetRecordsFilter(
        asset_key=load, asset_partitions=[JUDGED_NOW]), limit=1).records
    context.log_event(dg.AssetCheckEvaluation(
        asset_key=load, check_name=CHECK, passed=True, partition=JUDGED_NOW,
        target_materialization_data=CheckTarget(storage_id=newest.storage_id,
                                                run_id=newest.run_id,
                                                timestamp=newest.timestamp)))
    yield dg.AssetMaterialization(asset_key=extract, metadata={"dagster/row_count": 5})
    for day in WINDOW[:3]:
        yield dg.AssetMaterialization(asset_key=WIPED, partition=day,
                                      metadata={"dagster/row_count": 9})
    yield dg.Output(None)


@dg.op
def after_the_wipe() -> Iterator[Any]:
    yield dg.AssetMaterialization(asset_key=WIPED, partition=WINDOW[1],
                                  metadata={"dagster/row_count": 10})
    yield dg.Output(None)


@dg.job
def later() -> None:
    later_history()


@dg.job
def again() -> None:
    after_the_wipe()


def record_history(instance: dg.DagsterInstance, source_home: Path) -> None:
    """The range run's events (recorded in ``source_home``) stored in ``instance``, then the
    later cases run on it."""
    storage = instance.event_log_storage
    for event in recorded_events(source_home):
        storage.store_event(event)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert later.execute_in_process(
            instance=instance).success
        instance.wipe_assets([WIPED])
        assert again.execute_in_process(
            instance=instance).success


def assert_reads_as_dagster(instance: dg.DagsterInstance) -> None:
    keys = [*STAGES, WIPED]
    checks = [dg.AssetCheckKey(k, CHECK) for k in STAGES] + [
        dg.AssetCheckKey(STAGES[0], UNCHECKED)]
    records = DayRecords(BatchedReads(instance), WINDOW)

    latest = records.latest_materializations(keys)
    expected = {}
    rows_expected = {}
    for key in keys:
        for record in instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, asset_partitions=list(WINDOW)),
                limit=1000, ascending=True).records:
            assert record.partition_key is not None
            expected[(key, record.partition_key)] = record.storage_id  # the newest wins
            mat = record.asset_materialization
            assert mat is not None
            value = mat.metadata.get("dagster/row_count")
            rows_expected[record.storage_id] = None if value is None else value.value
    assert latest == expected
    assert (WIPED, WINDOW[0]) not in latest and (WIPED, WINDOW[1]) in latest
    assert records.rows(latest.values()) == {i: rows_expected[i] for i in latest.values()}
    assert records.rows([latest[(STAGES[1], REMATERIALIZED)]]) == {
        latest[(STAGES[1], REMATERIALIZED)]: 77}

    def key(info: Any) -> tuple[str, str | None]:
        return (info.check_key.to_user_string(), info.partition_key)

    dagster = sorted(instance.event_log_storage.get_asset_check_partition_info(
        checks, partition_keys=list(WINDOW)), key=key)
    ours = sorted(records.check_results(checks), key=key)
    assert ours == dagster
    current = {(i.check_key.asset_key, i.partition_key): i.is_current for i in ours}
    assert current[(STAGES[1], REMATERIALIZED)] is False
    assert current[(STAGES[1], JUDGED_BLIND)] is False
    assert not any(current[(STAGES[0], day)] for day in WINDOW[:12])  # the unpartitioned one
    assert current[(STAGES[1], JUDGED_NOW)] is True


def assert_planned_prefetched_as_dagster(instance: dg.DagsterInstance) -> None:
    """Within ``planned_prefetched`` the latest planned materializations, and the partition
    status built on them, are what the storage reads one asset at a time."""
    keys = [*STAGES, WIPED, dg.AssetKey(["t", "none", "p"])]
    storage = instance.event_log_storage
    alone = {k: storage.get_latest_planned_materialization_info(k) for k in keys}
    assert alone[STAGES[0]] is not None and alone[keys[-1]] is None
    status = {k: partition_subsets(BatchedReads(instance), k, DAYS) for k in keys}
    with planned_prefetched(instance, keys):
        assert {k: storage.get_latest_planned_materialization_info(k) for k in keys} == alone
        assert {k: partition_subsets(BatchedReads(instance), k, DAYS) for k in keys} == status
        day = WINDOW[0]  # a partition's planned event is read as before
        assert storage.get_latest_planned_materialization_info(STAGES[0], day) is not None
    assert isinstance(storage, PrefetchedReads) and storage._prefetch.planned is None
