"""Every name the framework derives, in one place.

Asset keys, group names, job names, resource keys, storage paths and warehouse table names are
all built here so that a rename is one edit and no module formats a key by hand.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import dagster as dg

Stage = Literal["extract", "transfer", "load"]
STAGES: Final[tuple[Stage, ...]] = ("extract", "transfer", "load")

IDENTIFIER_PATTERN: Final = r"^[a-z][a-z0-9_]*$"
IDENTIFIER_RE: Final = re.compile(IDENTIFIER_PATTERN)

RESERVED_TENANT_IDS: Final = frozenset(
    {
        "all", "common", "config", "factories", "resources", "utils", "tenants", "partitions",
        "sources", "warehouse", "naming", "cli", "demo", "storage",
    }
)

DAILY_ETL_JOB: Final = "daily_etl_job"
MASTER_SYNC_JOB: Final = "master_sync_job"
DAILY_SCHEDULE: Final = "daily_etl_schedule"
MASTER_SCHEDULE: Final = "master_sync_schedule"
PARTITION_DIR_PREFIX: Final = "dt="
LATEST_DIR: Final = "latest"
DATA_FILE: Final = "data.parquet"


def stage_job_name(stage: Stage) -> str:
    return f"{stage}_job"


def asset_key(tenant: str, stage: Stage, pipeline: str) -> dg.AssetKey:
    return dg.AssetKey([tenant, stage, pipeline])


def step_asset_name(tenant: str, kind: str) -> str:
    """The multi-asset (and op) running a tenant's ``daily`` or ``master`` pipelines."""
    return f"{tenant}__{kind}"


def group_name(tenant: str, stage: Stage) -> str:
    return f"{tenant}_{stage}"


def job_name(tenant: str, job: str, *, qualified: bool) -> str:
    """Tenant-local job names inside a tenant's code location, prefixed ones in ``etl.all``.

    A Dagster code location needs unique job names; the seed's per-tenant locations keep the
    short names (``daily_etl_job``) while the merged location prefixes them with the tenant.
    """
    return f"{tenant}__{job}" if qualified else job


def resource_key(tenant: str, role: Literal["source", "storage", "warehouse"]) -> str:
    return f"{tenant}__{role}"


def pool_name(tenant: str) -> str:
    """Concurrency pool guarding one tenant's source database."""
    return f"source_db__{tenant}"


def partition_dir(partition_key: str | None) -> str:
    return LATEST_DIR if partition_key is None else f"{PARTITION_DIR_PREFIX}{partition_key}"


def dataset_path(tenant: str, stage: Stage, pipeline: str) -> str:
    """Storage-relative folder holding every partition of one pipeline stage."""
    return f"{tenant}/{stage}/{pipeline}"


def data_file_path(tenant: str, stage: Stage, pipeline: str, partition_key: str | None) -> str:
    return f"{dataset_path(tenant, stage, pipeline)}/{partition_dir(partition_key)}/{DATA_FILE}"


def warehouse_table(pipeline: str) -> str:
    return pipeline
