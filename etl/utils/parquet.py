"""Parquet writing that readers of the lake can rely on.

Types are normalised on the way in (µs timestamps, widened unsigned integers, decoded
dictionaries) because Trino and Iceberg read those reliably, and a file is written under a
staging name outside every table folder and moved into place only when complete, so a failed or
killed run never leaves a file where readers look.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

STAGING_PREFIX = "_tmp-"
# A staging file untouched this long belongs to a killed run: a live writer appends a row group
# per batch, seconds apart, so age alone tells the two apart without any locking.
STALE_STAGING_S = 24 * 3600
MAX_ROW_GROUP_ROWS = 1024 * 1024  # pyarrow's default: a larger batch becomes several groups

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
        [pa.field(f.name, normalize_type(f.type), f.nullable, metadata=f.metadata)
         for f in schema],
        metadata=None,
    )


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns worth dictionary-encoding: strings and binaries only.

    Repeated text (codes, statuses, names) is where a dictionary shrinks a file. On numbers,
    dates and timestamps it mostly overflows and falls back to plain after the work is done: on
    the 5M-row bench table, encoding every column took the writer from 1.7 s to 3.4 s of CPU and
    the extract from ~290 MiB to ~350 MiB peak RSS, and nearly doubled the file (170 MiB vs
    90 MiB, zstd).
    """
    return [f.name for f in schema if _is_text_or_binary(f.type)]


def _is_text_or_binary(typ: pa.DataType) -> bool:
    t = pa.types
    return bool(
        t.is_string(typ) or t.is_large_string(typ) or t.is_string_view(typ)
        or t.is_binary(typ) or t.is_large_binary(typ) or t.is_binary_view(typ)
    )


def writer_options(schema: pa.Schema, compression: str) -> dict[str, Any]:
    """The ``ParquetWriter`` settings every lake file is written with.

    Page size, statistics and zstd level stay at pyarrow's defaults: on the bench table none of
    them moved the writer's CPU beyond run-to-run noise, and a higher zstd level only cost CPU.
    No ``memory_pool=`` either: pyarrow passes it only to the Arrow-to-Parquet layer while the
    column writers allocate from the process's default pool, so passing jemalloc here measured
    no gain. The default pool is chosen per process (``ARROW_DEFAULT_MEMORY_POOL``).
    """
    return {
        "compression": None if compression == "none" else compression,
        "use_dictionary": dictionary_columns(schema),
        "coerce_timestamps": "us",
        "allow_truncated_timestamps": False,
        "write_statistics": True,  # min/max let Trino and DuckDB skip row groups
    }


def write_parquet_atomic(
    fs: pafs.FileSystem,
    final_path: str,
    reader: pa.RecordBatchReader,
    compression: str = "zstd",
    staging_dir: str | None = None,
) -> WriteStats:
    """Stream ``reader`` into ``final_path``; readers see the old file or the whole new one.

    The file is written in ``staging_dir`` and then moved. Callers pass a folder outside every
    table folder (the lake's ``_staging``), because a file a killed run leaves behind is then
    invisible to readers: DuckDB's and polars' ``dt=*/*.parquet`` globs do not skip
    ``_``-prefixed names. Locally that folder must be on the target's filesystem so the move is
    an atomic rename; on S3 the move is a server-side copy, and staging must be outside table
    folders anyway because pyarrow leaves a folder-marker object where it deletes a file.
    Without ``staging_dir`` the file is staged beside the target (only for callers with no
    lake root).

    Each batch becomes one row group, so the source's ``batch_size`` sets the row-group size:
    pyarrow's writer cannot merge batches into a larger group without holding them in memory.
    """
    directory, _, _ = final_path.rpartition("/")
    staging_dir = staging_dir or directory
    if isinstance(fs, pafs.LocalFileSystem):
        fs.create_dir(directory, recursive=True)
        fs.create_dir(staging_dir, recursive=True)
    staging = f"{staging_dir}/{STAGING_PREFIX}{uuid.uuid4().hex}.parquet"
    target = normalize_schema(reader.schema)
    rows = groups = size = 0
    try:
        with fs.open_output_stream(staging) as sink:
            with pq.ParquetWriter(sink, target, **writer_options(target, compression)) as writer:
                for batch in reader:
                    if batch.num_rows == 0:
                        continue
                    if batch.schema != target:
                        batch = batch.cast(target)
                    writer.write_batch(batch)
                    rows += batch.num_rows
                    groups += -(-batch.num_rows // MAX_ROW_GROUP_ROWS)
            size = sink.tell()
    except BaseException:
        _delete_quietly(fs, staging)
        raise
    fs.move(staging, final_path)
    return WriteStats(rows=rows, bytes=size, schema=target, row_groups=groups)


def remove_stale_staging(
    fs: pafs.FileSystem, staging_dir: str, max_age_s: float = STALE_STAGING_S
) -> list[str]:
    """Delete staging files older than ``max_age_s`` (left by killed runs); returns their paths.

    Safe beside concurrent writers in other processes: a file still being written is younger
    than the limit, and a file another cleaner removed first is simply skipped.
    """
    selector = pafs.FileSelector(staging_dir, allow_not_found=True)
    cutoff = time.time() - max_age_s
    removed: list[str] = []
    for info in fs.get_file_info(selector):
        if (info.type == pafs.FileType.File and info.base_name.startswith(STAGING_PREFIX)
                and info.mtime is not None and info.mtime.timestamp() < cutoff):
            _delete_quietly(fs, info.path)
            removed.append(info.path)
    return removed


def _delete_quietly(fs: pafs.FileSystem, path: str) -> None:
    try:
        fs.delete_file(path)
    except OSError:
        pass
