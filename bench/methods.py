"""The measured methods. Each runs alone in a child process (see extract.py) and writes Parquet.

Every method is timed from just before it connects to just after its Parquet file is closed;
imports and interpreter start are outside the clock (but inside the child's peak RSS).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bench.table import TABLE, BenchTable

COMPRESSION = "zstd"  # what the project's StorageResource writes by default
QUERY = f"SELECT * FROM {TABLE}"


@dataclass(frozen=True)
class Measured:
    rows: int
    seconds: float
    schema: pa.Schema | None  # of the Parquet written; None for the COPY floor
    note: str = ""


def _plain_url(table: BenchTable) -> str:
    """postgresql://... for the libpq/Rust clients (no SQLAlchemy driver suffix)."""
    from sqlalchemy.engine import make_url

    return make_url(table.url).set(drivername="postgresql").render_as_string(hide_password=False)


def _parquet(path: Path) -> tuple[int, pa.Schema]:
    return pq.read_metadata(path).num_rows, pq.read_schema(path)


def project(table: BenchTable, scope: str, out: Path, batch_size: int | None,
            engine: str = "auto") -> Measured:
    """The project's extract stage: run_extract with the real resources, local-folder lake."""
    from sqlalchemy.engine import make_url

    from etl.config.source import SourceConfig
    from etl.config.storage import StorageConfig
    from etl.config.tenant_config import PipelineAssetConfig
    from etl.resources.rdb import SourceDatabaseResource
    from etl.resources.s3 import StorageResource
    from etl.stages.extract import run_extract

    url = make_url(table.url)
    source_kw: dict[str, Any] = {"batch_size": batch_size} if batch_size else {}
    config = SourceConfig(url=url.set(password=None).render_as_string(hide_password=False),
                          engine=engine, **source_kw)  # type: ignore[arg-type]
    source = SourceDatabaseResource.from_config(config, "UTC").model_copy(
        update={"password": url.password})
    storage = StorageResource.from_config(StorageConfig(root=str(out / "lake")))
    pipeline = PipelineAssetConfig(name=TABLE, table=TABLE, date_column="event_ts")
    started = time.monotonic()
    ((_, outcome),) = run_extract("bench", pipeline, source, storage,
                                  [table.day] if scope == "day" else None)
    seconds = time.monotonic() - started
    rows, schema = _parquet(Path(outcome.uri))
    assert rows == outcome.rows
    return Measured(rows, seconds, schema, f"batch_size={source.batch_size}")


def project_sqlalchemy(
    table: BenchTable, scope: str, out: Path, batch_size: int | None
) -> Measured:
    return project(table, scope, out, batch_size, engine="sqlalchemy")


def copy_floor(table: BenchTable, scope: str, out: Path, batch_size: int | None) -> Measured:
    """COPY ... TO STDOUT (FORMAT binary) into /dev/null: what the wire alone costs."""
    import psycopg

    from bench.table import _conninfo

    started = time.monotonic()
    size = 0
    with psycopg.connect(_conninfo(table.url)) as conn, open("/dev/null", "wb") as sink, \
            conn.cursor().copy(f"COPY {TABLE} TO STDOUT (FORMAT binary)") as copy:
        for chunk in copy:
            size += len(chunk)
            sink.write(chunk)
    return Measured(-1, time.monotonic() - started, None, f"{size / 2**20:.0f} MiB")


def connectorx_table(table: BenchTable, scope: str, out: Path, batch_size: int | None) -> Measured:
    import connectorx as cx

    path = out / "cx.parquet"
    started = time.monotonic()
    data = cx.read_sql(_plain_url(table), QUERY, return_type="arrow")
    pq.write_table(data, path, compression=COMPRESSION)
    seconds = time.monotonic() - started
    return Measured(_parquet(path)[0], seconds, _parquet(path)[1])


def connectorx_stream(table: BenchTable, scope: str, out: Path, batch_size: int | None) -> Measured:
    import connectorx as cx

    path = out / "cx-stream.parquet"
    started = time.monotonic()
    reader = cx.read_sql(_plain_url(table), QUERY, return_type="arrow_stream",
                         batch_size=batch_size or 100_000)
    _write_stream(reader, path)
    return Measured(_parquet(path)[0], time.monotonic() - started, _parquet(path)[1])


def adbc_stream(table: BenchTable, scope: str, out: Path, batch_size: int | None) -> Measured:
    import adbc_driver_postgresql.dbapi as adbc  # type: ignore[import-untyped]

    path = out / "adbc.parquet"
    started = time.monotonic()
    with adbc.connect(_plain_url(table)) as conn, conn.cursor() as cur:
        cur.execute(QUERY)
        _write_stream(cur.fetch_record_batch(), path)
    return Measured(_parquet(path)[0], time.monotonic() - started, _parquet(path)[1])


def duckdb_copy(table: BenchTable, scope: str, out: Path, batch_size: int | None) -> Measured:
    """DuckDB's own COPY TO Parquet over the attached table (default settings, all threads)."""
    from etl.utils.sql import literal

    path = out / "duckdb.parquet"
    started = time.monotonic()
    con = attached_duckdb(table)
    con.execute(f"COPY (SELECT * FROM src.public.{TABLE}) TO {literal(str(path))} "
                f"(FORMAT parquet, COMPRESSION {COMPRESSION})")
    con.close()
    return Measured(_parquet(path)[0], time.monotonic() - started, _parquet(path)[1])


def attached_duckdb(table: BenchTable) -> Any:
    """A DuckDB connection with the bench table's database attached as ``src`` (read only)."""
    import duckdb

    from etl.sources.dialects.postgresql import libpq_conninfo
    from etl.sources.dialects.registry import dialect_for
    from etl.sources.dispatch import resolve_url
    from etl.sources.duckdb_reader import extension_path
    from etl.utils.sql import literal

    scanner = dialect_for("postgresql").scanner
    assert scanner is not None
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    con.execute(f"LOAD {literal(str(extension_path(scanner)))}")
    con.execute(f"ATTACH {literal(libpq_conninfo(resolve_url(table.url, None)))} AS src "
                "(TYPE postgres, READ_ONLY)")
    return con


def pandas_read_sql(table: BenchTable, scope: str, out: Path, batch_size: int | None) -> Measured:
    import pandas as pd  # type: ignore[import-untyped]
    import sqlalchemy as sa

    path = out / "pandas.parquet"
    started = time.monotonic()
    engine = sa.create_engine(table.url)
    frame = pd.read_sql(QUERY, engine)
    frame.to_parquet(path, compression=COMPRESSION, index=False)
    engine.dispose()
    return Measured(_parquet(path)[0], time.monotonic() - started, _parquet(path)[1])


def _write_stream(reader: pa.RecordBatchReader, path: Path) -> None:
    with pq.ParquetWriter(path, reader.schema, compression=COMPRESSION) as writer:
        for batch in reader:
            writer.write_batch(batch)


Method = Callable[[BenchTable, str, Path, "int | None"], Measured]


@dataclass(frozen=True)
class Spec:
    function: Method
    scopes: tuple[str, ...]
    anchor: bool  # compared with the project in the ratios
    preload: tuple[str, ...] = ()  # imported before the baseline RSS is taken
    env: tuple[tuple[str, str], ...] = ()  # extra environment of the child


_PROJECT = ("etl.stages.extract", "etl.resources.rdb", "etl.resources.s3")

METHODS: dict[str, Spec] = {
    # The pool a Dagster run worker has: importing etl sets ARROW_DEFAULT_MEMORY_POOL=jemalloc
    # before pyarrow loads; this harness imports pyarrow first, so it sets it for the child.
    "project": Spec(project, ("full", "day"), False, _PROJECT,
                    (("ARROW_DEFAULT_MEMORY_POOL", "jemalloc"),)),
    "project-sqlalchemy": Spec(project_sqlalchemy, ("day",), False, _PROJECT),
    "copy-binary-floor": Spec(copy_floor, ("full",), False, ("psycopg",)),
    "connectorx": Spec(connectorx_table, ("full",), True, ("connectorx",)),
    "connectorx-stream": Spec(connectorx_stream, ("full",), True, ("connectorx",)),
    "adbc-stream": Spec(adbc_stream, ("full",), True, ("adbc_driver_postgresql.dbapi",)),
    "duckdb-copy": Spec(duckdb_copy, ("full",), True, ("duckdb", "etl.sources.duckdb_reader")),
    "pandas-read_sql": Spec(pandas_read_sql, ("full",), True, ("pandas", "sqlalchemy", "psycopg")),
}
