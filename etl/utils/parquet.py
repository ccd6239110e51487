"""Parquet writing that readers of the lake can rely on.

Types are normalised on the way in (µs timestamps, widened unsigned integers, decoded
dictionaries) because Trino and Iceberg read those reliably, and a file is written under a
staging name outside every table folder and moved into place only when complete, so a failed or
killed run never leaves a file where readers look. A local lake is written without following
any link below its root (:mod:`etl.utils.safe_paths`).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from etl.utils.safe_paths import create_file, directory_beneath, fd_path, is_link, link_error

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
    """Normalised types; field metadata (the columns' logical types) kept, the schema's not."""
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
    ``_``-prefixed names. On S3 the move is a server-side copy, and staging must be outside
    table folders anyway because pyarrow leaves a folder-marker object where it deletes a file.
    Without ``staging_dir`` the file is staged beside the target (only for callers with no
    lake root). A local lake is written by :func:`write_parquet_beneath`, which follows no link.

    Each batch becomes one row group, so the source's ``batch_size`` sets the row-group size:
    pyarrow's writer cannot merge batches into a larger group without holding them in memory.
    """
    directory, _, _ = final_path.rpartition("/")
    staging_dir = staging_dir or directory
    if isinstance(fs, pafs.LocalFileSystem):
        fs.create_dir(directory, recursive=True)
        fs.create_dir(staging_dir, recursive=True)
    staging = f"{staging_dir}/{STAGING_PREFIX}{uuid.uuid4().hex}.parquet"
    try:
        stats = _write_stream(fs, staging, reader, compression)
    except BaseException:
        _delete_quietly(fs, staging)
        raise
    fs.move(staging, final_path)
    return stats


def write_parquet_beneath(
    root: str,
    relative: str,
    reader: pa.RecordBatchReader,
    compression: str = "zstd",
    staging: str = "_staging",
) -> WriteStats:
    """:func:`write_parquet_atomic` into the local folder ``root``, following no link below it.

    The target's folders and the staging folder are opened one by one without following links
    (created where missing), the staging file is created new in the staging folder so opened,
    written through its descriptor, and renamed into the target's folder between the two
    descriptors. A link on the way (``lake/beta/extract -> lake/alpha/extract``) fails the write
    with a :class:`~etl.utils.safe_paths.LinkError` naming it, and nothing is written.
    """
    *folders, name = relative.split("/")
    local = pafs.LocalFileSystem()
    with directory_beneath(root, folders, create=True) as target, \
            directory_beneath(root, staging.split("/"), create=True) as staged:
        if is_link(target, name):
            raise link_error(f"{root}/{relative}")
        temp = f"{STAGING_PREFIX}{uuid.uuid4().hex}.parquet"
        fd = create_file(staged, temp)
        try:
            try:
                stats = _write_stream(local, fd_path(fd), reader, compression)
            finally:
                os.close(fd)
            os.replace(temp, name, src_dir_fd=staged, dst_dir_fd=target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=staged)
            raise
    return stats


def _write_stream(fs: pafs.FileSystem, path: str, reader: pa.RecordBatchReader,
                  compression: str) -> WriteStats:
    """Every batch of ``reader`` into the new file ``path``, one row group each."""
    target = normalize_schema(reader.schema)
    rows = groups = 0
    with fs.open_output_stream(path) as sink:
        with pq.ParquetWriter(sink, target, **writer_options(target, compression)) as writer:
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                if not batch.schema.equals(target, check_metadata=True):
                    batch = _cast(batch, target)
                writer.write_batch(batch)
                rows += batch.num_rows
                groups += -(-batch.num_rows // MAX_ROW_GROUP_ROWS)
        size = sink.tell()
    return WriteStats(rows=rows, bytes=size, schema=target, row_groups=groups)


def _cast(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """``batch`` as ``target``, never lossy: a nanosecond that µs cannot hold names its column."""
    try:
        return batch.cast(target)
    except pa.ArrowInvalid as e:
        for column, field in zip(batch.columns, target, strict=True):
            try:
                column.cast(field.type)
            except pa.ArrowInvalid:
                raise ValueError(
                    f"column {field.name!r}: its {column.type} values do not fit {field.type} "
                    f"without loss ({e}); round them on purpose in the query or transfer"
                ) from None
        raise


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
