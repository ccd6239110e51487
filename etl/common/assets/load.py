"""Load: put one day (or the master table) into the warehouse, replacing what was there."""

from __future__ import annotations

import time

from etl import naming
from etl.common.assets.inputs import require_stage_output
from etl.common.assets.outcome import StageOutcome
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.s3 import StorageResource
from etl.utils.validation import Reconciliation
from etl.warehouse.base import LoadRequest, Warehouse


def run_load(
    tenant: str,
    pipeline: PipelineAssetConfig,
    storage: StorageResource,
    warehouse: Warehouse,
    partition_key: str | None,
) -> tuple[StageOutcome, Reconciliation]:
    started = time.monotonic()
    stage = pipeline.load_input_stage
    relative = require_stage_output(storage, tenant, stage, pipeline.name, partition_key)
    expected = storage.metadata(relative).num_rows
    request = LoadRequest(
        table=naming.warehouse_table(pipeline.name),
        partition_key=partition_key,
        data=storage.dataset(relative),
        data_uri=storage.uri(relative),
        dataset_uri=storage.uri(naming.dataset_path(tenant, stage, pipeline.name)),
        mode=pipeline.load_mode,
        schema_drift=pipeline.schema_drift,
    )
    result = warehouse.load(request)
    outcome = StageOutcome(
        rows=result.rows, uri=storage.uri(relative), seconds=time.monotonic() - started,
        schema=request.data.schema, bytes=storage.size(relative),
        extra={"table": result.table, "added_columns": list(result.added_columns)},
    )
    return outcome, Reconciliation(expected=expected, actual=result.rows)


def reconcile(
    tenant: str,
    pipeline: PipelineAssetConfig,
    storage: StorageResource,
    warehouse: Warehouse,
    partition_key: str | None,
) -> Reconciliation:
    """Compare the warehouse with the Parquet it was loaded from, without loading anything.

    This is what the row-count check runs when it is executed on its own from the UI.
    """
    stage = pipeline.load_input_stage
    relative = require_stage_output(storage, tenant, stage, pipeline.name, partition_key)
    actual = warehouse.count_rows(
        naming.warehouse_table(pipeline.name), partition_key, pipeline.load_mode
    )
    return Reconciliation(expected=storage.metadata(relative).num_rows, actual=actual)
