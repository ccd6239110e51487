"""S3-protocol server (moto in server mode) on a free loopback port.

moto runs as a separate Python process rather than `ThreadedMotoServer`: Trino and parallel
writers hit it hard, and a subprocess neither competes for the test process's GIL nor survives
a crashed session (it is in its own process group). Credentials are dummies; moto accepts any.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.services.base import (
    LOOPBACK,
    Service,
    free_port,
    make_run_dir,
    start_process,
    stop_process,
    wait_until,
)

ACCESS_KEY = "test"
SECRET_KEY = "test"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Bucket:
    """Everything a client needs to use one bucket on the test server."""

    endpoint_url: str
    bucket: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}"


def start_s3(
    base_dir: Path | None = None, *, bucket: str | None = "lake", timeout: float = 60
) -> Service:
    """Start moto_server; optionally create `bucket` (exposed as extra["bucket"])."""
    t0 = time.monotonic()
    run_dir = make_run_dir("s3", base_dir)
    log_path = run_dir / "moto.log"
    port = free_port()
    endpoint = f"http://{LOOPBACK}:{port}"
    client_env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_S3": endpoint,
        # boto3 >= 1.36 adds CRC checksums by default; keep requests plain for S3 look-alikes.
        "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
        "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
    }
    svc = Service(
        name="s3",
        host=LOOPBACK,
        port=port,
        url=endpoint,
        user=ACCESS_KEY,
        password=SECRET_KEY,
        env=client_env,
        extra={"region": REGION},
        run_dir=run_dir,
        log_path=log_path,
    )
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        proc = start_process(
            [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
            log_path=log_path,
            env=env,
            cwd=run_dir,
        )
        svc.on_stop(lambda: stop_process(proc, timeout=10))
        svc.extra["pid"] = str(proc.pid)  # for tests that stall the server (SIGSTOP)
        wait_until(
            lambda: _http_ok(f"{endpoint}/moto-api/"),
            what="moto S3 server",
            timeout=timeout,
            proc=proc,
            log_path=log_path,
        )
        if bucket:
            create_bucket(svc, bucket)
            svc.extra["bucket"] = bucket
    except BaseException:
        svc.stop()
        raise
    svc.started_in_s = time.monotonic() - t0
    return svc


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return bool(resp.status == 200)


def client(svc: Service) -> Any:
    """boto3 S3 client for the test server (path-style, dummy credentials)."""
    import boto3
    from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]

    return boto3.client(
        "s3",
        endpoint_url=svc.url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def create_bucket(svc: Service, name: str) -> S3Bucket:
    """Create `name` if it does not exist yet."""
    s3 = client(svc)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=name)
    return bucket_info(svc, name)


def bucket_info(svc: Service, name: str) -> S3Bucket:
    return S3Bucket(endpoint_url=svc.url, bucket=name)


def delete_bucket(svc: Service, name: str) -> None:
    """Delete every object (and version) in `name`, then the bucket itself."""
    s3 = client(svc)
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=name):
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for i in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=name, Delete={"Objects": keys[i : i + 1000]})
    s3.delete_bucket(Bucket=name)
