"""Reconcile: each day's fingerprint at the source now, against the one its extract recorded.

The extract stored every day's rows and checksum at the source with the day's materialization
(:mod:`etl.stages.extract`). Here they are taken again, in one grouped query, and
each day gets its ``matches_source`` result, naming the extract materialization it judged:

* ``equal``: same rows and checksum; the lake still holds what the source holds;
* ``differs``: rows or checksum moved (rows updated, deleted or inserted since), the day was
  never extracted though the source has rows, it changed while it was extracted, or it has no
  fingerprint to compare (extracted before fingerprints, or over other columns): a heal
  extracts it again;
* ``changing``: it differed at the last reconcile too and the source has moved since: the
  source is still writing it, so it is reported and not healed until it holds still.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import dagster as dg

from etl import naming
from etl.config.tenant_config import PipelineAssetConfig
from etl.sources.fingerprint import Fingerprint, Fingerprints, FingerprintSpec
from etl.stages.events import check_evaluation
from etl.stages.latest import LatestMaterializations, previous_check_metadata
from etl.utils.live_work import LiveWork

STATUS: Final = "reconcile_status"
LOADED_ROWS: Final = "loaded_rows"
EQUAL, DIFFERS, CHANGING = "equal", "differs", "changing"


@dataclass(frozen=True)
class Judged:
    status: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def compare_with_source(tenant: str, pipeline: PipelineAssetConfig, source: Any,
                        instance: dg.DagsterInstance, days: Sequence[str],
                        live: LiveWork | None = None) -> Iterator[dg.AssetCheckEvaluation]:
    """One ``matches_source`` result per day, from one fingerprint query for the days."""
    from etl.stages.extract import extract_request

    # One grouped query for the whole window: one scan of the table, where a query per
    # days_per_scan days may each scan it (an extract's memory bound does not apply here: the
    # answer is one row per day).
    now: Fingerprints = source.fingerprints(extract_request(pipeline, source, sorted(days)),
                                            live)
    key = naming.asset_key(tenant, "extract", pipeline.name)
    check = dg.AssetCheckKey(key, naming.SOURCE_CHECK)
    latest = LatestMaterializations(instance, days)
    before = previous_check_metadata(instance, check, days)
    covered = FingerprintSpec(pipeline.fingerprint_columns).describe()
    for day in days:
        record = latest.record(key, day)
        meta = record.asset_materialization.metadata if record is not None and \
            record.asset_materialization is not None else None
        judged = judge(now.get(day, Fingerprint.empty()), meta, before.get(day), covered)
        yield check_evaluation(key, naming.SOURCE_CHECK, day, judged.status == EQUAL,
                               judged.text, judged.metadata, blocking=False)


def judge(now: Fingerprint, stored: Mapping[str, Any] | None,
          before: Mapping[str, Any] | None, covered: str) -> Judged:
    """One day: the source now, what its extract recorded, and the last reconcile's finding."""
    found = {naming.SOURCE_ROWS: now.rows, naming.SOURCE_CHECKSUM: now.checksum}
    if stored is None:
        if now.rows == 0:
            return Judged(EQUAL, "No rows at the source and none extracted.",
                          {STATUS: EQUAL, **found, LOADED_ROWS: 0})
        return _differs(f"Not extracted yet: {now.rows:,} row(s) at the source.", found, 0,
                        before)
    loaded = int(_value(stored.get("dagster/row_count")) or 0)
    rows, checksum = _value(stored.get(naming.SOURCE_ROWS)), _value(
        stored.get(naming.SOURCE_CHECKSUM))
    if _value(stored.get(naming.SOURCE_CHANGING)):
        why = ("The source changed while this day was extracted; "
               f"{now.rows:,} row(s) at the source now, {loaded:,} extracted.")
    elif checksum is None or _value(stored.get(naming.SOURCE_FINGERPRINT_OF)) != covered:
        why = (f"No fingerprint of {covered} was recorded when this day was extracted; "
               f"{now.rows:,} row(s) at the source now, {loaded:,} extracted.")
    elif int(rows) == now.rows and str(checksum) == now.checksum:
        return Judged(EQUAL, f"Equal to the source: {now.rows:,} row(s), same checksum.",
                      {STATUS: EQUAL, **found, LOADED_ROWS: loaded})
    elif int(rows) != now.rows:
        why = f"{now.rows:,} row(s) at the source now, {loaded:,} extracted."
    else:
        why = f"Same {now.rows:,} row(s), but their checksum changed: rows were updated."
    return _differs(why, found, loaded, before)


def _differs(why: str, found: dict[str, Any], loaded: int,
             before: Mapping[str, Any] | None) -> Judged:
    metadata = {**found, LOADED_ROWS: loaded}
    if before is not None and _value(before.get(STATUS)) in (DIFFERS, CHANGING) and (
            _value(before.get(naming.SOURCE_ROWS)) != found[naming.SOURCE_ROWS]
            or str(_value(before.get(naming.SOURCE_CHECKSUM)))
            != found[naming.SOURCE_CHECKSUM]):
        return Judged(CHANGING, f"{why} It differed at the last reconcile too and the source "
                                "has changed since: still being written, so not healed until "
                                "it holds still.", {STATUS: CHANGING, **metadata})
    return Judged(DIFFERS, why, {STATUS: DIFFERS, **metadata})


def _value(entry: object) -> Any:
    return getattr(entry, "value", entry)
