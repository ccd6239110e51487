"""Every name the framework derives, in one place.

Asset keys, group names, job names, check names, resource keys, storage paths, the partition
column and warehouse schema and table names are all built here, so a rename is one edit and no
module formats a key by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Final, Literal

import dagster as dg

Stage = Literal["extract", "transfer", "load"]
STAGES: Final[tuple[Stage, ...]] = ("extract", "transfer", "load")
ResourceRole = Literal["source", "storage", "warehouse"]

IDENTIFIER_PATTERN: Final = r"^[a-z][a-z0-9_]*$"
IDENTIFIER_RE: Final = re.compile(IDENTIFIER_PATTERN)
IDENTIFIER_MAX_LENGTH: Final = 63
"""Tenant ids and other identifiers: PostgreSQL's and Kubernetes' name limit."""

DAILY_ETL_JOB: Final = "daily_etl_job"
MASTER_SYNC_JOB: Final = "master_sync_job"
DAILY_SCHEDULE: Final = "daily_etl_schedule"
MASTER_SCHEDULE: Final = "master_sync_schedule"
RECONCILE_JOB: Final = "reconcile_job"
RECONCILE_SCHEDULE: Final = "reconcile_schedule"
HEAL_SENSOR: Final = "heal_sensor"

ROW_COUNT: Final = "dagster/row_count"
"""Dagster's metadata key for the rows a materialization wrote (plotted, and read by status)."""

RECONCILE_CHECK: Final = "row_count_matches_parquet"
"""The blocking check on every load asset: warehouse rows equal the Parquet rows loaded."""
PRIMARY_KEY_UNIQUE_CHECK: Final = "primary_key_unique"
PRIMARY_KEY_NOT_NULL_CHECK: Final = "primary_key_not_null"
FRESHNESS_CHECK: Final = "loaded_by_deadline"
"""On the last stage of every daily pipeline: the day was materialized by its deadline."""
FRESHNESS_SENSOR: Final = "freshness_sensor"
SOURCE_CHECK: Final = "matches_source"
"""On the extract asset of every daily pipeline: the day's rows in the lake still match the
source (count and checksum of the fingerprint, taken again at the source by a reconcile run)."""

# Extract metadata: each day's fingerprint at the source, taken with the rows it wrote.
SOURCE_ROWS: Final = "source_rows"
SOURCE_CHECKSUM: Final = "source_checksum"
SOURCE_FINGERPRINT_OF: Final = "source_fingerprint_of"
SOURCE_CHANGING: Final = "source_changing"
# Incremental pipelines: where the next run starts, on the last stage's materialization.
HIGH_WATER_MARK: Final = "cursor_high_water_mark"
RUNS_SINCE_KEY_SCAN: Final = "runs_since_key_scan"
DELETED_AT_COLUMN: Final = "deleted_at"
"""The column ``deletes: {mode: soft}`` marks a row gone from the source with."""
ALERT_RUN_SENSOR: Final = "alert_on_run_failure"
ALERT_CHECK_SENSOR: Final = "alert_on_checks"

PARTITION_COLUMN: Final = "dt"
"""The default day column of daily tables, and of the ``<column>=YYYY-MM-DD`` lake folders
(a pipeline may choose another: ``partition_column``)."""
RAW_TABLE_SUFFIX: Final = "__raw"

LATEST_DIR: Final = "latest"
DATA_FILE: Final = "data.parquet"
STAGING_DIR: Final = "_staging"
"""Under the lake root, outside every table folder, so no reader's glob sees a leftover."""

# Dagster's run tags for the partitions a run covers (one day, or a range in one run).
PARTITION_TAG: Final = "dagster/partition"
RANGE_START_TAG: Final = "dagster/asset_partition_range_start"
RANGE_END_TAG: Final = "dagster/asset_partition_range_end"
MAX_RETRIES_TAG: Final = "dagster/max_retries"  # read by run retries
MAX_RUNTIME_TAG: Final = "dagster/max_runtime"  # read by run monitoring
CODE_LOCATION_TAG: Final = "dagster/code_location"  # set by Dagster on every launched run
TENANT_TAG: Final = "tenant"
DAYS_TAG: Final = "etl/days"
"""A range run that covers only these days of its range (comma-separated): a heal's scattered
days in one run, without re-reading the days between them."""
REASON_TAG: Final = "etl/reason"
"""Why a run ran, for the UI and ``etl status``: ``heal``, ``reconcile``, ``full_refresh``."""
FULL_REFRESH_TAG: Final = "etl/full_refresh"
"""``true``: incremental pipelines of the run rebuild their table from a full read."""
# The process executing a run the `etl` command runs itself (etl/runs/orphans.py).
EXECUTED_ON_TAG: Final = "etl/executed_on"  # the host
EXECUTED_BY_TAG: Final = "etl/executed_by"  # "<pid> <process start> <run id>"
NOTICE_METADATA: Final = "etl/notice"
"""Marks a run's engine events meant for whoever watches it (a stage retried)."""

PACKAGE_DIR: Final = Path(__file__).resolve().parent
_CODE_LOCATION_CALL = "build_tenant_definitions("


def stage_job_name(stage: Stage) -> str:
    return f"{stage}_job"


def asset_key(tenant: str, stage: Stage, pipeline: str) -> dg.AssetKey:
    return dg.AssetKey([tenant, stage, pipeline])


def check_key(tenant: str, stage: Stage, pipeline: str, check: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(asset_key(tenant, stage, pipeline), check)


def rule_check_name(kind: str, columns: tuple[str, ...]) -> str:
    """A quality rule's default check name: its kind and columns, e.g. ``not_null_qty``."""
    parts = [kind, *(re.sub(r"[^0-9a-z_]", "_", c.lower()) for c in columns)]
    return "_".join(parts) if columns else f"{kind}_in_range"


def freshness_op_name(tenant: str) -> str:
    """The op that evaluates a tenant's freshness checks when they are run from the UI."""
    return f"{tenant}__freshness"


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


def resource_key(tenant: str, role: ResourceRole) -> str:
    return f"{tenant}__{role}"


def pool_name(tenant: str) -> str:
    """Concurrency pool guarding one tenant's source database."""
    return f"source_db__{tenant}"


def partition_dir(partition_key: str | None, column: str = PARTITION_COLUMN) -> str:
    return LATEST_DIR if partition_key is None else f"{column}={partition_key}"


def dataset_path(tenant: str, stage: Stage, pipeline: str) -> str:
    """Storage-relative folder holding every partition of one pipeline stage."""
    return f"{tenant}/{stage}/{pipeline}"


def data_file_path(tenant: str, stage: Stage, pipeline: str, partition_key: str | None,
                   column: str = PARTITION_COLUMN) -> str:
    folder = partition_dir(partition_key, column)
    return f"{dataset_path(tenant, stage, pipeline)}/{folder}/{DATA_FILE}"


def change_file_path(tenant: str, pipeline: str, run_id: str, kind: str = "changes") -> str:
    """An incremental run's rows (``changes``) or the source's keys (``keys``), one file per run:
    ``<tenant>/extract/<pipeline>/<kind>/run=<run id>/data.parquet``."""
    return f"{dataset_path(tenant, 'extract', pipeline)}/{kind}/run={run_id}/{DATA_FILE}"


def lake_prefix(tenant: str) -> str:
    """Storage-relative folder holding everything a tenant writes (its stages' datasets)."""
    return tenant


def warehouse_table(pipeline: str) -> str:
    return pipeline


def raw_table(table: str) -> str:
    """The Hive table over an external-mode table's Parquet; users query the view ``table``."""
    return f"{table}{RAW_TABLE_SUFFIX}"


def partition_clash(names: Iterable[str], partition_column: str) -> str | None:
    """The column among ``names`` named like the day partition column (warehouses fold case)."""
    return next((n for n in names if n.lower() == partition_column.lower()), None)


def partition_clash_message(column: str, partition_column: str) -> str:
    return (
        f"column {column!r} has the name of the day partition column {partition_column!r}, "
        "which every daily table and lake folder adds itself; rename it in the pipeline's "
        f"query (SELECT ..., {column} AS {column}_source ...) or choose another name for the "
        "partition column with partition_column: in the pipeline"
    )


def warehouse_schema(tenant: str, schema_name: str | None) -> str:
    """A tenant's warehouse schema: the configured one, else the tenant id."""
    return schema_name or tenant


def tenant_id_problem(tenant: str) -> str | None:
    """What is wrong with ``tenant`` as a tenant id, read before it names any file; None if
    nothing. A long value is shortened: it may be a whole paragraph pasted by mistake."""
    if IDENTIFIER_RE.match(tenant) and len(tenant) <= IDENTIFIER_MAX_LENGTH:
        return None
    shown = repr(tenant) if len(tenant) <= 40 else f"{tenant[:30]!r}... ({len(tenant)} characters)"
    return (f"tenant id {shown} is not allowed: it must match {IDENTIFIER_PATTERN} and have at "
            f"most {IDENTIFIER_MAX_LENGTH} characters")


@cache
def reserved_tenant_ids(package_dir: Path = PACKAGE_DIR) -> frozenset[str]:
    """Names a tenant may not take: the package's own modules and subpackages.

    A tenant's code location is ``etl/<tenant>.py``, so a tenant named like one of the
    package's modules (``scaffold``, ``cli``, ...) could never load. The list is read from the
    package itself, so a new module is reserved as soon as it exists; tenants' own location
    modules (the ones that call ``build_tenant_definitions("<their name>")``) are not.
    """
    names: set[str] = set()
    for path in package_dir.iterdir():
        if path.name.startswith(("_", ".")):
            continue
        if path.is_dir() and (path / "__init__.py").is_file():
            names.add(path.name)
        elif path.suffix == ".py" and not is_code_location(path):
            names.add(path.stem)
    return frozenset(names)


def is_code_location(module: Path) -> bool:
    """Whether ``module`` is the code location of the tenant it is named after."""
    text = module.read_text(encoding="utf-8", errors="replace")
    return f'{_CODE_LOCATION_CALL}"{module.stem}")' in text
