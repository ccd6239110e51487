"""``--connect`` for the lake: the bucket exists and the prefix can be listed, or the local
folder can be written."""

from __future__ import annotations

import os
from pathlib import Path

from etl.config.storage import StorageConfig
from etl.model.base import FieldProblem
from etl.resources.s3 import StorageResource
from etl.utils.logging import redact
from etl.utils.secrets import read_env_fields

ROOT = ("storage", "root")


def probe_storage(storage: StorageConfig, timeout_s: float) -> list[FieldProblem]:
    if not storage.is_s3:
        return _probe_folder(Path(storage.root).resolve())
    keys, problems = read_env_fields(storage, "storage", ("access_key_env", "secret_key_env"))
    if problems:
        return problems
    return _probe_bucket(storage, keys.get("access_key_env"), keys.get("secret_key_env"),
                         timeout_s)


def _probe_bucket(storage: StorageConfig, access_key: str | None, secret_key: str | None,
                  timeout_s: float) -> list[FieldProblem]:
    import pyarrow.fs as pafs

    resource = StorageResource(
        root=storage.root, endpoint_url=storage.endpoint_url, region=storage.region,
        path_style=storage.path_style, access_key=access_key, secret_key=secret_key,
        compression=storage.compression, connect_timeout_s=timeout_s,
        request_timeout_s=timeout_s,
    )
    fs = pafs.S3FileSystem(**{
        **resource.s3_options(), "connect_timeout": timeout_s, "request_timeout": timeout_s,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=1),
    })
    bucket, _, prefix = storage.root.removeprefix("s3://").partition("/")
    at = f" at {storage.endpoint_url}" if storage.endpoint_url else ""
    try:
        if fs.get_file_info(bucket).type == pafs.FileType.NotFound:
            return [FieldProblem(ROOT, f"bucket {bucket!r} does not exist{at}")]
        fs.get_file_info(pafs.FileSelector(f"{bucket}/{prefix}".rstrip("/"),
                                           allow_not_found=True))
    except OSError as e:
        cause = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return [FieldProblem(ROOT, redact(f"cannot list {storage.root}{at}: {cause}",
                                          [access_key, secret_key]))]
    return []


def _probe_folder(folder: Path) -> list[FieldProblem]:
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        return [FieldProblem(ROOT, f"{existing} is a file, not a folder")]
    if not os.access(existing, os.W_OK):
        return [FieldProblem(ROOT, f"cannot write to {existing}")]
    return []
