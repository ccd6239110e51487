"""Parquet writing that readers of the lake can rely on.

Types are normalised on the way in (µs timestamps, widened unsigned integers, decoded
dictionaries) because Trino and Iceberg read those reliably, and a file is written under a
hidden staging name and moved into place only when complete, so a failed or killed run never
leaves a partial file where readers look.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

STAGING_PREFIX = "_tmp-"

_UNSIGNED_WIDENING: dict[pa.DataType, pa.DataType] = {
    pa.uint8(): pa.int16(),
    pa.uint16(): pa.int32(),
    pa.uint32(): pa.int64(),
    pa.uint64(): pa.decimal128(20, 0),
}


@dataclass(frozen=True)
class WriteStats:
    rows: int
    bytes: int
    schema: pa.Schema
    row_groups: int


def normalize_type(typ: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(typ):
        return pa.timestamp("us", tz="UTC" if typ.tz else None)
    if pa.types.is_time(typ):
        return pa.time64("us")
    if pa.types.is_duration(typ):
        return pa.duration("us")
    if typ in _UNSIGNED_WIDENING:
        return _UNSIGNED_WIDENING[typ]
    if pa.types.is_dictionary(typ):
        return normalize_type(typ.value_type)
    if pa.types.is_null(typ):
        return pa.string()
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return pa.list_(normalize_type(typ.value_type))
    return typ


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema(
        [pa.field(f.name, normalize_type(f.type), f.nullable) for f in schema],
        metadata=None,
    )


def write_parquet_atomic(
    fs: pafs.FileSystem,
    final_path: str,
    reader: pa.RecordBatchReader,
    compression: str = "zstd",
    staging_dir: str | None = None,
) -> WriteStats:
    """Stream ``reader`` into ``final_path``; readers see the old file or the whole new one.

    Locally the staging file sits beside the target so the final rename is atomic. On S3 the
    final step is a server-side copy, and staging lives under ``staging_dir`` (outside every
    table folder) because pyarrow leaves a folder-marker object where it deletes a file.
    """
    directory, _, _ = final_path.rpartition("/")
    if isinstance(fs, pafs.LocalFileSystem):
        fs.create_dir(directory, recursive=True)
    staging = f"{staging_dir or directory}/{STAGING_PREFIX}{uuid.uuid4().hex}.parquet"
    target = normalize_schema(reader.schema)
    rows = 0
    try:
        with fs.open_output_stream(staging) as sink, pq.ParquetWriter(
            sink,
            target,
            compression=None if compression == "none" else compression,
            coerce_timestamps="us",
            allow_truncated_timestamps=False,
            write_statistics=True,
        ) as writer:
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                if batch.schema != target:
                    batch = batch.cast(target)
                writer.write_batch(batch)
                rows += batch.num_rows
    except BaseException:
        _delete_quietly(fs, staging)
        raise
    fs.move(staging, final_path)
    info = fs.get_file_info(final_path)
    metadata = pq.read_metadata(final_path, filesystem=fs)
    return WriteStats(rows=rows, bytes=info.size or 0, schema=target,
                      row_groups=metadata.num_row_groups)


def _delete_quietly(fs: pafs.FileSystem, path: str) -> None:
    try:
        fs.delete_file(path)
    except OSError:
        pass
