"""Extract: stream days (or the whole master table) from the source into Parquet.

A range of days is read with one query per ``days_per_scan`` days, ordered by the date column,
and cut into one atomic file per day as the rows arrive (:mod:`etl.utils.day_split`), so
memory stays at one batch whatever the range. Every day of the range gets its file, an empty
one (with the right schema) for a day without rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from etl import naming
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.rdb import SourceDatabaseResource
from etl.resources.s3 import StorageResource
from etl.sources.base import ExtractRequest
from etl.sources.day_set import DaySet
from etl.sources.fingerprint import Fingerprints, FingerprintSpec
from etl.stages.outcome import StageOutcome
from etl.stages.row_progress import RowProgress
from etl.utils.arrow_memory import use_extraction_pool

if TYPE_CHECKING:
    from etl.sources.dispatch import ReadSession
    from etl.utils.live_work import LiveWork
    from etl.utils.parquet import WriteStats

DayOutcome = tuple[str | None, StageOutcome]


def extract_request(
    pipeline: PipelineAssetConfig, source: SourceDatabaseResource, days: Sequence[str] | None
) -> ExtractRequest:
    window = (DaySet.of(pipeline.date_column, days, source.timezone)
              if days and pipeline.date_column else None)
    return ExtractRequest(
        fingerprint=FingerprintSpec(pipeline.fingerprint_columns) if window else None,
        table=pipeline.table,
        query=pipeline.query,
        columns=pipeline.columns,
        row_filter=window,
        batch_size=pipeline.batch_size or source.batch_size,
        db_schema=source.db_schema,
        statement_timeout_s=source.statement_timeout_s,
        read_timeout_s=source.read_timeout_s,
        column_types=pipeline.column_types,
        partition_column=pipeline.partition_column if window is not None else None,
    )


def run_extract(
    tenant: str,
    pipeline: PipelineAssetConfig,
    source: SourceDatabaseResource,
    storage: StorageResource,
    days: Sequence[str] | None,
    *,
    days_per_scan: int = 1,
    log: Callable[[str], None] | None = None,
    live: LiveWork | None = None,
) -> Iterator[DayOutcome]:
    """Write each day's file (or the master file) and yield ``(day, outcome)`` as each lands.

    A failure stops the extract there: the days already yielded are written and correct, the
    rest keep their previous files. What can be known before the first row (a source column
    named like the partition column, a ``column_types`` choice that cannot work, a value that
    would not fit its decimal type) fails before any day is written. ``live`` gets a way to
    interrupt each source read while it runs.
    """
    use_extraction_pool()
    progress = RowProgress(f"extract {pipeline.name}", log)
    if days is None:
        yield None, _write_master(tenant, pipeline, storage, source, progress, live)
        return
    ordered = sorted(days)
    per_scan = max(1, days_per_scan)
    with source.session(live) as session:  # one reflection and connection for every scan
        if len(ordered) > 1:  # day files are committed as they come: find unfit values first
            session.check(extract_request(pipeline, source, ordered))
        for start in range(0, len(ordered), per_scan):  # a heal's scattered days: one read too
            yield from _scan(tenant, pipeline, source, session, storage,
                             ordered[start:start + per_scan], progress)


def _write_master(tenant: str, pipeline: PipelineAssetConfig, storage: StorageResource,
                  source: SourceDatabaseResource, progress: RowProgress,
                  live: LiveWork | None) -> StageOutcome:
    started = time.monotonic()
    relative = naming.data_file_path(tenant, "extract", pipeline.name, None)
    with source.read(extract_request(pipeline, source, None), live) as reader:
        stats = storage.write(relative, progress.counted(reader, None))
    return _outcome(pipeline, storage, relative, stats, time.monotonic() - started)


def _scan(tenant: str, pipeline: PipelineAssetConfig, source: SourceDatabaseResource,
          session: ReadSession, storage: StorageResource, days: list[str],
          progress: RowProgress) -> Iterator[DayOutcome]:
    """One query for ``days``, cut into day files; each day with its fingerprint at the source.

    Where the fingerprint is taken before and after the read (no shared snapshot: the generic
    path), the days are reported once the read has ended and the second fingerprint is in; a
    fingerprint added up from the rows (:mod:`etl.sources.in_band`) or taken in the read's own
    snapshot is final for each day as soon as its file is written.
    """
    from etl.utils.day_split import split_by_day

    column = pipeline.date_column or ""
    request = extract_request(pipeline, source, days)
    with session.read(request) as read:
        taken = read.fingerprints
        wait = taken is not None and not taken.consistent
        written: list[DayOutcome] = []
        started = time.monotonic()
        for day, rows in split_by_day(read.reader, column, days, source.timezone):
            relative = naming.data_file_path(tenant, "extract", pipeline.name, day,
                                             pipeline.partition_column)
            stats = storage.write(relative, progress.counted(rows, day))
            now = time.monotonic()
            outcome = _outcome(pipeline, storage, relative, stats, now - started)
            started = now
            if taken is None:
                yield day, outcome
            elif wait:
                written.append((day, outcome))
            else:
                found, moved = taken.final()
                yield day, _fingerprinted(outcome, request, found, moved, day)
        if taken is not None and wait:
            found, moved = taken.final()
            for done, outcome in written:
                yield done, _fingerprinted(outcome, request, found, moved, done)


def _fingerprinted(outcome: StageOutcome, request: ExtractRequest, found: Fingerprints,
                   moved: frozenset[str], day: str | None) -> StageOutcome:
    """The day's outcome with its fingerprint at the source (``source_rows``,
    ``source_checksum``), or marked changing if the source moved while it was read."""
    spec = request.fingerprint
    fingerprint = found.get(day or "")
    extra: dict[str, object] = {
        naming.SOURCE_FINGERPRINT_OF: spec.describe() if spec else "all columns"}
    if fingerprint is None or day in moved or fingerprint.rows != outcome.rows:
        extra[naming.SOURCE_CHANGING] = True
    else:
        extra[naming.SOURCE_ROWS] = fingerprint.rows
        extra[naming.SOURCE_CHECKSUM] = fingerprint.checksum
    return replace(outcome, extra={**outcome.extra, **extra})


def _outcome(pipeline: PipelineAssetConfig, storage: StorageResource, relative: str,
             stats: WriteStats, seconds: float) -> StageOutcome:
    return StageOutcome(
        rows=stats.rows, uri=storage.written_uri(relative), seconds=seconds, schema=stats.schema,
        bytes=stats.bytes, extra={"source": pipeline.table or "query",
                                  "row_groups": stats.row_groups},
    )
