"""Extract: stream one day (or the whole master table) from the source into Parquet."""

from __future__ import annotations

import time

from etl import naming
from etl.common.assets.outcome import StageOutcome
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.rdb import SourceDatabaseResource
from etl.resources.s3 import StorageResource
from etl.sources.base import ExtractRequest
from etl.sources.row_filter import DayWindow
from etl.utils.arrow_memory import use_extraction_pool


def extract_request(
    pipeline: PipelineAssetConfig, source: SourceDatabaseResource, partition_key: str | None
) -> ExtractRequest:
    return ExtractRequest(
        table=pipeline.table,
        query=pipeline.query,
        columns=pipeline.columns,
        row_filter=(DayWindow.of(pipeline.date_column, [partition_key], source.timezone)
                    if partition_key and pipeline.date_column else None),
        batch_size=pipeline.batch_size or source.batch_size,
        db_schema=source.db_schema,
    )


def run_extract(
    tenant: str,
    pipeline: PipelineAssetConfig,
    source: SourceDatabaseResource,
    storage: StorageResource,
    partition_key: str | None,
) -> StageOutcome:
    use_extraction_pool()
    started = time.monotonic()
    relative = naming.data_file_path(tenant, "extract", pipeline.name, partition_key)
    request = extract_request(pipeline, source, partition_key)
    with source.read(request) as reader:
        stats = storage.write(relative, reader)
    return StageOutcome(
        rows=stats.rows, uri=storage.uri(relative), seconds=time.monotonic() - started,
        schema=stats.schema, bytes=stats.bytes,
        extra={"source": pipeline.table or "query", "row_groups": stats.row_groups},
    )
