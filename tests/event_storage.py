"""Events of a real range run, replayed through an event-log storage, and every table dumped.

The run is Dagster's own (``dg.materialize`` of a two-asset daily multi-asset over a range, as
one run), recorded by the stock SQLite storage: each day's planned materialization, its
materialization with a data version and an observation, log lines, its outputs, and each
day's check result naming
the materialization it judged, one day failing. On top of it, what a single run rarely has: a
second run whose results have no planned rows (one day judged twice), and two runs' events
interleaved. Replaying the same sequence through two storages and dumping every table shows
whether they write the same rows.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa

from etl.instance.private import CheckTarget

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
STAGES = (dg.AssetKey(["t", "extract", "p"]), dg.AssetKey(["t", "load", "p"]))
CHECK = "rows_ok"
FAILING_DAY = "2024-01-05"
TABLES = ("event_logs", "asset_keys", "asset_event_tags", "asset_check_executions",
          "dynamic_partitions")
CLOCK_COLUMNS = {"create_timestamp", "update_timestamp"}  # set by the database: now()
OTHER_RUN = "00000000-0000-4000-8000-000000000001"
warnings.filterwarnings("ignore", category=dg.PreviewWarning)  # partitioned check specs


@dg.multi_asset(
    specs=[dg.AssetSpec(k, skippable=True, partitions_def=DAYS) for k in STAGES],
    check_specs=[dg.AssetCheckSpec(CHECK, asset=k, partitions_def=DAYS) for k in STAGES],
    partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), can_subset=True)
def pipeline(context) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    days = sorted(context.partition_keys)
    for key in STAGES:
        context.log.info(f"{key.to_user_string()}: {len(days)} day(s)")  # a step's log line
        for i, day in enumerate(days):
            yield dg.AssetMaterialization(asset_key=key, partition=day,
                                          metadata={"dagster/row_count": i, "bytes": 100 + i},
                                          tags={"dagster/data_version": f"{day}-v{i}"})
            yield dg.AssetObservation(asset_key=key, partition=day, metadata={"seen": i})
    for key in STAGES:
        latest = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=days), limit=len(days))
        targets = {r.partition_key: CheckTarget(storage_id=r.storage_id, run_id=r.run_id,
                                                timestamp=r.timestamp) for r in latest.records}
        for day in days:
            yield dg.AssetCheckEvaluation(asset_key=key, check_name=CHECK,
                                          passed=day != FAILING_DAY, partition=day,
                                          target_materialization_data=targets.get(day),
                                          metadata={"rows": 1})
    for output, spec in context.assets_def.check_specs_by_output_name.items():
        if spec.key in context.selected_asset_check_keys:
            yield dg.Output(None, output_name=output)


def range_run(instance: dg.DagsterInstance, days: int) -> str:
    """Run ``pipeline`` over the first ``days`` days as one run; returns its id."""
    keys = DAYS.get_partition_keys()[:days]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = dg.materialize([pipeline], instance=instance, raise_on_error=False, tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1]})
    return result.run_id


def recorded_events(home: Path, days: int = 12) -> list[dg.EventLogEntry]:
    """The events of a range run recorded by the stock SQLite storage, and the extra cases."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_id = range_run(instance, days)
        events = [r.event_log_entry for r in
                  instance.get_records_for_run(run_id, limit=100_000).records]
    return events + extra_cases(events)


def extra_cases(events: Sequence[dg.EventLogEntry]) -> list[dg.EventLogEntry]:
    """Another run's results without planned rows (the first day judged twice) and
    materializations, interleaved with more of the first run's events."""
    kind = dg.DagsterEventType
    checks = [e for e in events if e.dagster_event_type == kind.ASSET_CHECK_EVALUATION]
    mats = [e for e in events if e.dagster_event_type == kind.ASSET_MATERIALIZATION]
    later = [e._replace(timestamp=e.timestamp + 1000) for e in (*mats[:3], *checks[:3])]
    other = [e._replace(run_id=OTHER_RUN) for e in (*later, checks[0])]
    return [*other[:2], later[0], *other[2:], later[3]]


def replay(storage: Any, events: Sequence[dg.EventLogEntry]) -> None:
    for event in events:
        storage.store_event(event)
    if hasattr(storage, "flush_buffer"):
        storage.flush_buffer()
    storage.dispose()


def dump_sqlite(base_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, per database file (each run's and the index shard)."""
    out = {}
    for path in sorted(base_dir.glob("*.db")):
        with sqlite3.connect(path) as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            for table in (t for t in TABLES if t in names):
                cursor = conn.execute(f"SELECT * FROM {table} ORDER BY id")
                columns = [d[0] for d in cursor.description]
                out[f"{path.name}:{table}"] = [_row(columns, r) for r in cursor]
    return out


def dump_postgres(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {table: [_row(list(r._fields), r) for r in
                            conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))]
                    for table in TABLES}
    finally:
        engine.dispose()


def _row(columns: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    return {c: (v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v)
            for c, v in zip(columns, values, strict=True) if c not in CLOCK_COLUMNS}


def differences(expected: dict[str, list[dict[str, Any]]], found: dict[str, list[dict[str, Any]]],
                ignore: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    """The first differing row of each table (``ignore``: (table, column) pairs not compared)."""
    out = []
    for table in sorted(expected.keys() | found.keys()):
        a, b = expected.get(table, []), found.get(table, [])
        if len(a) != len(b):
            out.append(f"{table}: {len(a)} rows expected, {len(b)} found")
            continue
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            name = table.rpartition(":")[2]
            columns = [c for c in x if (name, c) not in ignore and x[c] != y.get(c)]
            if columns:
                out.append(f"{table} row {i}: {columns}")
                break
    return out


def assert_counts_as_stored(storage: Any, events: Sequence[dg.EventLogEntry]) -> None:
    """The progress line's count of a run's check results (:mod:`etl.instance.counts`) equals
    what a read of the run's records finds, at every point of the run, buffered or not; another
    run's results and other kinds of event are not counted."""
    from etl.instance.counts import RunEventCounter

    kind = dg.DagsterEventType.ASSET_CHECK_EVALUATION
    run_id = next(e.run_id for e in events if e.dagster_event_type == kind)
    counter = RunEventCounter(storage, run_id, kind)
    stored = 0
    for event in events:
        storage.store_event(event)
        stored += event.run_id == run_id and event.dagster_event_type == kind
        if event.dagster_event_type in (kind, dg.DagsterEventType.STEP_SUCCESS):
            assert counter.update() == stored
    read = storage.get_records_for_run(run_id, of_type=kind, limit=100_000).records
    assert counter.update() == stored == len(read) > 0
    assert any(e.run_id != run_id and e.dagster_event_type == kind for e in events)
    storage.dispose()
