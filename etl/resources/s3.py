"""Storage for the lake: any S3 endpoint, or a local folder as the embedded default.

Both go through pyarrow's filesystem layer, so the writer, the transfer and the loaders use one
code path and the local folder behaves like S3 (same layout, same atomic replace). In a local
folder no link below the root is followed: writes open every folder without following links,
and a path to read that goes through a link is refused, naming it (:mod:`etl.utils.safe_paths`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import dagster as dg
from pydantic import Field, PrivateAttr

from etl import naming
from etl.config.storage import Compression, StorageConfig
from etl.utils.secrets import secret_field

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    from etl.utils.parquet import WriteStats

TRANSIENT_ERRORS: Final[tuple[str, ...]] = (
    r"slow[ _]?down", r"throttl", r"service[ _]?unavailable", r"internal[ _]?error",
    r"internal[ _]?failure",  # the AWS SDK's name for a 500 (pyarrow: "AWS Error INTERNAL_FAILURE")
    r"\b50[234]\b", r"network_connection", r"curlcode",
)
"""Patterns of S3's (and pyarrow's S3 client's) errors that another try may get past: throttling,
5xx answers, a dropped connection (:mod:`etl.stages.retries`)."""


class StorageResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Reads and writes the Parquet files of one tenant's lake."""

    root: str = Field(description="s3://bucket/prefix or a local folder.")
    endpoint_url: str | None = Field(description="S3-compatible endpoint, if not AWS.")
    region: str | None = Field(description="S3 region (None: from the AWS environment).")
    path_style: bool | None = Field(description="Path-style addressing (None: by endpoint).")
    access_key: str | None = secret_field("S3 access key (None: the AWS credential chain).")
    secret_key: str | None = secret_field("S3 secret key.")
    compression: Compression = Field(description="Parquet compression codec.")
    connect_timeout_s: float = Field(description="S3: seconds to wait for a connection.")
    request_timeout_s: float = Field(description="S3: seconds one request may stall.")

    # (filesystem, base path), built once; one tuple so threads never see half of it.
    _fs_base: Any = PrivateAttr(default=None)
    _sweep_lock: Any = PrivateAttr(default_factory=threading.Lock)
    _swept: bool = PrivateAttr(default=False)

    @classmethod
    def from_config(cls, config: StorageConfig) -> StorageResource:
        def env(name: str | None) -> Any:
            return dg.EnvVar(name) if name else None

        return cls(
            root=config.root, endpoint_url=config.endpoint_url, region=config.region,
            path_style=config.path_style, access_key=env(config.access_key_env),
            secret_key=env(config.secret_key_env), compression=config.compression,
            connect_timeout_s=config.connect_timeout_s,
            request_timeout_s=config.request_timeout_s,
        )

    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")

    def filesystem(self) -> tuple[pafs.FileSystem, str]:
        """The pyarrow filesystem and the base path inside it (no scheme)."""
        import pyarrow.fs as pafs  # imported by runs only, not by every code location

        if self._fs_base is None:
            fs: pafs.FileSystem
            if self.is_s3:
                fs = pafs.S3FileSystem(**self.s3_options())
                base = self.root.removeprefix("s3://").rstrip("/")
            else:
                fs = pafs.LocalFileSystem()
                base = str(Path(self.root).resolve())
            self._fs_base = (fs, base)
        fs_base: tuple[pafs.FileSystem, str] = self._fs_base
        return fs_base

    def s3_options(self) -> dict[str, Any]:
        """``pyarrow.fs.S3FileSystem`` arguments for this store (``etl validate`` shortens the
        timeouts)."""
        import pyarrow.fs as pafs

        scheme, endpoint = "https", None
        if self.endpoint_url:
            scheme, _, endpoint = self.endpoint_url.partition("://")
        return {
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "region": self.region or _default_region(),
            "endpoint_override": endpoint,
            "scheme": scheme,
            # Path style by default where an endpoint is given (S3-compatible stores).
            "force_virtual_addressing": self.path_style is False,
            "connect_timeout": self.connect_timeout_s,
            "request_timeout": self.request_timeout_s,
            # Two tries per request at the SDK level; the stage retries beyond that, so a
            # stalled endpoint fails within ~2x request_timeout_s, then backs off.
            "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=2),
        }

    def path(self, relative: str) -> str:
        """The path of ``relative`` in the filesystem; in a local lake, a path through a link
        below the root (to another tenant's folder, say) raises a ``LinkError`` naming it."""
        _, base = self.filesystem()
        if not self.is_s3:
            from etl.utils.safe_paths import link_error, unresolved_part

            link = unresolved_part(base, relative)
            if link is not None:
                raise link_error(link)
        return f"{base}/{relative}"

    def uri(self, relative: str) -> str:
        return self.uri_of(self.path(relative))

    def uri_of(self, path: str) -> str:
        """The URI of a path :meth:`path` returned (checked there: not again)."""
        return f"s3://{path}" if self.is_s3 else path

    def written_uri(self, relative: str) -> str:
        """The URI of a file :meth:`write` just wrote: locally it opened every folder on the
        way without following a link, so the link check of :meth:`path` is not made again."""
        _, base = self.filesystem()
        return self.uri_of(f"{base}/{relative}")

    def write(self, relative: str, reader: pa.RecordBatchReader) -> WriteStats:
        """Write one partition's file atomically (see :mod:`etl.utils.parquet`).

        The first write of a step also sweeps what killed runs left in the staging folder.
        """
        from etl.utils.parquet import write_parquet_atomic, write_parquet_beneath

        fs, base = self.filesystem()
        # Staged under the root, outside every table folder, on S3 and locally alike: a file
        # a killed run leaves behind is then never matched by a reader's ``dt=*/*.parquet``.
        staging = f"{base}/{naming.STAGING_DIR}"
        self._sweep_once(fs, staging)
        if not self.is_s3:  # no link below the root followed, whatever a tenant's code made
            return write_parquet_beneath(base, relative, reader, self.compression,
                                         naming.STAGING_DIR)
        return write_parquet_atomic(fs, self.path(relative), reader, self.compression, staging)

    def _sweep_once(self, fs: pafs.FileSystem, staging: str) -> None:
        with self._sweep_lock:
            if not self._swept:
                self._swept = True
                self.sweep_staging()

    def sweep_staging(self, max_age_s: float | None = None) -> list[str]:
        """Remove what killed runs left in the staging folder; returns what was removed.

        Staging files older than ``max_age_s`` (a day by default) go; on S3 also incomplete
        multipart uploads under the staging folder, which S3 otherwise keeps (and bills)
        forever. A live writer's file is younger than that, so sweeping never hurts one.
        """
        from etl.utils.parquet import STALE_STAGING_S, remove_stale_staging

        age = STALE_STAGING_S if max_age_s is None else max_age_s
        fs, _ = self.filesystem()
        removed = remove_stale_staging(fs, self.path(naming.STAGING_DIR), age)
        if self.is_s3:
            from etl.resources.s3_staging import abort_stale_uploads

            removed += abort_stale_uploads(self.boto3_client(),
                                           f"{self.path(naming.STAGING_DIR)}/", age)
        return removed

    def boto3_client(self) -> Any:
        """A boto3 S3 client with this lake's endpoint, keys, region and timeouts."""
        import boto3
        from botocore.config import Config

        addressing = "virtual" if self.path_style is False else "path"
        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region or _default_region(),
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(connect_timeout=self.connect_timeout_s,
                          read_timeout=self.request_timeout_s,
                          s3={"addressing_style": addressing if self.endpoint_url else "auto"},
                          retries={"max_attempts": 2, "mode": "standard"}),
        )

    def exists(self, relative: str) -> bool:
        import pyarrow.fs as pafs

        fs, _ = self.filesystem()
        return bool(fs.get_file_info(self.path(relative)).type == pafs.FileType.File)

    def size(self, relative: str) -> int:
        fs, _ = self.filesystem()
        return int(fs.get_file_info(self.path(relative)).size or 0)

    def dataset(self, relative: str) -> pads.Dataset:
        import pyarrow.dataset as pads

        fs, _ = self.filesystem()
        return pads.dataset(self.path(relative), filesystem=fs, format="parquet")

    def metadata(self, relative: str) -> pq.FileMetaData:
        import pyarrow.parquet as pq

        fs, _ = self.filesystem()
        return pq.read_metadata(self.path(relative), filesystem=fs)


def _default_region() -> str:
    """The region the AWS SDKs would pick: environment, then the shared config, else us-east-1.

    pyarrow's S3 client does not read the profile's region itself, and guessing wrong turns
    every request to a bucket elsewhere (e.g. ap-northeast-2) into a redirect error.
    """
    import configparser
    import os

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(name):
            return os.environ[name]
    config = Path(os.environ.get("AWS_CONFIG_FILE", Path.home() / ".aws" / "config"))
    profile = os.environ.get("AWS_PROFILE", "default")
    parser = configparser.ConfigParser()
    parser.read(config)
    section = profile if profile == "default" else f"profile {profile}"
    return parser.get(section, "region", fallback="us-east-1")
