"""The ``storage:`` block: where the lake's Parquet files land."""

from __future__ import annotations

import re
from typing import Final, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator, model_validator

from etl.model.base import EnvVarName, FieldError, StrictModel
from etl.utils.hosts import normal_host

Compression = Literal["zstd", "snappy", "gzip", "none"]
# Lenient on purpose: old AWS buckets and other S3 stores allow upper case and '_'.
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,254}$")
AWS: Final = "aws"
# s3.amazonaws.com, s3.<region>.amazonaws.com, s3-<region>, s3.dualstack.<region>, s3-fips...
_AWS_HOST = re.compile(r"^s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class StorageConfig(StrictModel):
    """Where Parquet files land: an S3 bucket (any S3 endpoint) or a local folder."""

    root: str = Field(
        description="s3://bucket/prefix, or a local folder (relative to the working directory)."
    )
    endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint, e.g. http://127.0.0.1:9000."
    )
    region: str | None = Field(
        default=None,
        description="S3 region (default: AWS_REGION, then the AWS config file, else us-east-1).",
    )
    path_style: bool | None = Field(
        default=None,
        description=(
            "Path-style addressing (bucket in the path, not the host name). Default: on when "
            "endpoint_url is set (MinIO, moto, Ceph...), off for AWS."
        ),
    )
    access_key_env: EnvVarName | None = Field(
        default=None, description="Env var with the S3 access key (default: AWS credential chain)."
    )
    secret_key_env: EnvVarName | None = Field(
        default=None, description="Env var with the S3 secret key."
    )
    compression: Compression = Field(default="zstd", description="Parquet compression codec.")
    connect_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="S3: seconds to wait for a connection."
    )
    request_timeout_s: float = Field(
        default=60.0, gt=0, le=3600,
        description="S3: seconds one request may stall before it fails (a stalled endpoint "
                    "fails the stage, then the stage's retries apply).",
    )

    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")

    @field_validator("root")
    @classmethod
    def _root(cls, root: str) -> str:
        if root.startswith(("s3a://", "s3n://", "gs://", "abfs://")):
            raise ValueError("must be s3://bucket/prefix or a local folder")
        if root.startswith("s3://"):
            bucket = root.removeprefix("s3://").split("/", 1)[0]
            if not bucket:
                raise ValueError("needs a bucket: s3://bucket/prefix")
            if not _BUCKET.match(bucket):
                raise ValueError(
                    f"{bucket!r} is not an S3 bucket name (letters, digits, '.', '-' or '_'); "
                    "write s3://bucket/prefix and put an endpoint's host and port in endpoint_url"
                )
        return root

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://minio:9000")
        _no_credentials(value)
        return value

    @model_validator(mode="after")
    def _keys_together(self) -> StorageConfig:
        if (self.access_key_env is None) != (self.secret_key_env is None):
            raise ValueError("set both 'access_key_env' and 'secret_key_env', or neither")
        return self


def _no_credentials(endpoint: str) -> None:
    """Keys belong in the environment. An endpoint is where the store is, nothing more: user
    info (``http://KEY@host``, with or without a secret), a query or a fragment, however
    encoded, is refused, and the URL is shown without them."""
    parts = urlsplit(endpoint)
    host = parts.netloc.rpartition("@")[2]
    if "@" not in parts.netloc and not parts.query and not parts.fragment:
        return
    shown = urlunsplit((parts.scheme, host, parts.path, "", ""))
    # A FieldError: its message is shown as written, the URL only without what was refused.
    raise FieldError((), (
        "the endpoint URL may hold only a scheme, a host, a port and a path: it carries user "
        "info, a query or a fragment, which could hold keys; remove them and name the environment "
        "variables holding the keys in 'access_key_env' and 'secret_key_env' (the endpoint "
        f"without them: {shown!r})"))


def normal_endpoint(endpoint_url: str | None) -> str:
    """One name per S3 store, however its endpoint is written, to compare two tenants' lakes.

    Scheme and host case, a trailing dot, user info and a default port (80, 443) make no
    difference, nor leading zeros in the port (``:09000`` is ``:9000``) or how an IP address is
    spelled; every AWS form (no endpoint, ``https://s3.amazonaws.com``, the regional and
    dual-stack ones) is ``aws`` (``aws-cn`` for China), since a bucket name is global there; a
    loopback address is ``localhost``.
    """
    if endpoint_url is None:
        return AWS
    parts = urlsplit(endpoint_url.strip())
    host = (parts.hostname or "").rstrip(".").lower()
    found = _AWS_HOST.match(host)
    if found:
        return f"{AWS}-cn" if found.group(1) else AWS
    try:
        port: int | None = parts.port
    except ValueError:  # not a number, or out of range: compared as written
        port = None
        host = f"{host}:{parts.netloc.rpartition(':')[2]}"
    if port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        port = None
    host = normal_host(host)
    return host if port is None else f"{host}:{port}"
