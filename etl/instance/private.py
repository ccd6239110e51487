"""Every private Dagster name the project uses, imported here and nowhere else in ``etl/``.

Dagster is pinned (``pyproject.toml``: ``dagster==1.13.27``); these names are not part of its
public API and may move in any release. ``tests/unit/test_dagster_private.py`` checks each one
(its place, its signature, the behaviour relied on), so an upgrade that changes one fails there,
loudly, instead of in a run.
"""

from __future__ import annotations

from dagster import AssetKey, DagsterInstance, PartitionsDefinition
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData as CheckTarget,
)
from dagster._core.definitions.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_TAG,
    get_input_data_version_tag,
    get_input_event_pointer_tag,
)
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import (
    COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES as COMPLETED_CHECK_STATUSES,
)
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus,
)


def forget_loaded_job() -> None:
    """Drop the job definition Dagster keeps from the last run executed in this process: it is
    cached by the job's code origin, which is the same for every tenant served by
    ``etl.tenant_location``."""
    from dagster._core.definitions.reconstruct import ReconstructableJob

    ReconstructableJob.get_repository_definition.cache_clear()
    ReconstructableJob.get_definition.cache_clear()


def partition_subsets(instance: DagsterInstance, key: AssetKey,
                      partitions: PartitionsDefinition[str]) -> tuple[set[str], set[str]]:
    """(materialized, failed) days of ``key``, as the UI's partition bar shows them: from
    Dagster's status cache, brought up to date first."""
    from dagster._core.storage.partition_status_cache import (
        get_and_update_asset_status_cache_value,
    )

    value = get_and_update_asset_status_cache_value(instance, key, partitions)
    if value is None:
        return set(), set()
    done = value.deserialize_materialized_partition_subsets(partitions)
    failed = value.deserialize_failed_partition_subsets(partitions)
    return set(done.get_partition_keys()), set(failed.get_partition_keys())


__all__ = [
    "CODE_VERSION_TAG",
    "COMPLETED_CHECK_STATUSES",
    "DATA_VERSION_TAG",
    "AssetCheckExecutionRecordStatus",
    "CheckTarget",
    "PartitionKeyFilter",
    "forget_loaded_job",
    "get_input_data_version_tag",
    "get_input_event_pointer_tag",
    "partition_subsets",
]
