"""Finding a stage's input, with an error that says which asset to materialize first."""

from __future__ import annotations

from etl import naming
from etl.resources.s3 import StorageResource


def require_stage_output(
    storage: StorageResource, tenant: str, stage: naming.Stage, pipeline: str,
    partition_key: str | None,
) -> str:
    """The stage's file for the partition (storage-relative), or a ``FileNotFoundError``."""
    relative = naming.data_file_path(tenant, stage, pipeline, partition_key)
    if not storage.exists(relative):
        raise FileNotFoundError(
            f"no {stage} output at {storage.uri(relative)}; materialize "
            f"{naming.asset_key(tenant, stage, pipeline).to_user_string()} first"
        )
    return relative
