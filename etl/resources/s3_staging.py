"""Aborting the multipart uploads killed runs leave in a lake's staging folder on S3.

A large Parquet file goes to S3 as a multipart upload; a run killed mid-write never completes
or aborts it, and S3 keeps the uploaded parts (invisible to listings, billed) until someone
aborts the upload. pyarrow has no call for that, so boto3 lists and aborts them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def abort_stale_uploads(client: Any, staging: str, max_age_s: float) -> list[str]:
    """Abort the uploads under ``staging`` (``bucket/prefix/_staging/``) older than the age,
    with ``client``, the lake's boto3 S3 client."""
    bucket, _, prefix = staging.partition("/")
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=max_age_s)
    aborted = []
    paginator = client.get_paginator("list_multipart_uploads")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for upload in page.get("Uploads", []):
            if upload["Initiated"] <= cutoff:
                client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"],
                                              UploadId=upload["UploadId"])
                aborted.append(f"s3://{bucket}/{upload['Key']} (upload {upload['UploadId']})")
    return aborted
