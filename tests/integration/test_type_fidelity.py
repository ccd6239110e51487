"""Every source type through extract and load into DuckDB and Trino (both modes), cell by cell.

The expected types and values are the source cases' (``source_cases/``), the same data the
README's type table is rendered from. Also here: the same analyst query on all three targets,
and the two refusals that happen before anything is written (a column named like the partition
column, a decimal that does not fit).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from etl import naming
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.s3 import StorageResource
from etl.sources.errors import SourceError
from etl.stages.extract import run_extract
from etl.stages.load import run_load
from etl.warehouse.base import LoadMode, Warehouse
from tests.helpers import duckdb_warehouse
from tests.integration import source_cases
from tests.integration.source_cases import DAY, postgres
from tests.integration.source_cases.postgres import f32
from tests.integration.source_support import execute, source
from tests.integration.trino_support import catalog, column_types, trino_loader
from tools.services.base import Service
from tools.services.trino import query

TENANT = "it"
MODES: tuple[LoadMode, ...] = ("external", "iceberg")
Target = tuple[str, Warehouse, str]  # name, loader, qualified table prefix


def canonical(value: Any) -> Any:
    """One form per value whichever client read it (DuckDB, Trino, Parquet)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    if isinstance(value, dict):
        return tuple(canonical(v) for v in value.values())
    if isinstance(value, tuple | list):  # Trino rows are tuples, arrays lists
        return type(value)(canonical(v) for v in value) if isinstance(value, list) else tuple(
            canonical(v) for v in value)
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, Decimal):
        return value.normalize() if value else Decimal(0)
    return value


def files_under(storage: StorageResource, relative: str) -> list[str]:
    """Every file below a lake folder (none when the folder does not exist)."""
    fs, _ = storage.filesystem()
    found = fs.get_file_info(pafs.FileSelector(storage.path(relative), recursive=True,
                                               allow_not_found=True))
    return [f.path for f in found if f.type == pafs.FileType.File]


def duckdb_rows(path: Path, sql: str) -> list[list[Any]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [list(row) for row in con.execute(sql).fetchall()]


def duckdb_types(path: Path, schema: str, table: str) -> dict[str, str]:
    rows = duckdb_rows(path, "SELECT column_name, data_type FROM information_schema.columns "
                             f"WHERE table_schema = '{schema}' AND table_name = '{table}' "
                             "ORDER BY ordinal_position")
    return {name: typ.replace('"', "") for name, typ in rows}


def load_everywhere(pipeline: PipelineAssetConfig, storage: StorageResource, days: list[str],
                    trino: Service, schema: str, tmp: Path) -> Path:
    """Load the extracted days into DuckDB and into Trino in both modes; the DuckDB file."""
    path = tmp / "warehouse.duckdb"
    run_load(TENANT, pipeline, storage, duckdb_warehouse(path, schema), days)
    for mode in MODES:
        loader = trino_loader(trino.host, trino.port, schema)
        run_load(TENANT, pipeline.model_copy(update={"load_mode": mode}), storage, loader, days)
    return path


def test_every_type_reaches_every_warehouse_cell_by_cell(
    case: source_cases.SourceCase, db: str, storage: StorageResource, trino_server: Service,
    schema: str, tmp_path: Path,
) -> None:
    """Extract the every-type table (it has a column named ``dt``, so the pipeline names its
    partition column ``day``) and load it into DuckDB, Trino external and Trino Iceberg: each
    shows the tested type and the source's value in every cell."""
    execute(db, *case.every_type_ddl)
    pipeline = PipelineAssetConfig(name="every_type", table="every_type", date_column="loaded",
                                   partition_column="day", save_to_trino=True)
    ((_, extracted),) = run_extract(TENANT, pipeline, source(db, "auto"), storage, [DAY])
    assert extracted.rows == 3
    path = load_everywhere(pipeline, storage, [DAY], trino_server, schema, tmp_path)

    expected_duckdb = {c.name: c.duckdb for c in case.columns} | {"day": "DATE"}
    assert duckdb_types(path, schema, "every_type") == expected_duckdb
    expected_trino = {c.name: c.trino for c in case.columns} | {"day": "date"}
    for mode in MODES:
        assert column_types(trino_server, mode, schema, "every_type") == expected_trino, mode
    day = dt.date.fromisoformat(DAY)
    expected = [[canonical(c.values[i]) for c in case.columns] + [day] for i in range(3)]
    results = {"duckdb": duckdb_rows(path, f"SELECT * FROM {schema}.every_type ORDER BY id")}
    for mode in MODES:
        results[mode] = query(trino_server,
                              f"SELECT * FROM {catalog(mode)}.{schema}.every_type ORDER BY id")
    intervals = [c.name for c in case.columns if c.logical == "interval"]
    for name in intervals:  # the README's example computes the same everywhere
        sql = (f"SELECT id, TIMESTAMP '2026-01-31 10:00:00' + {name}.months * INTERVAL '1' MONTH"
               f" + {name}.days * INTERVAL '1' DAY FROM {{table}} WHERE {name} IS NOT NULL "
               "ORDER BY id")
        answers = [duckdb_rows(path, sql.format(table=f"{schema}.every_type"))] + [
            query(trino_server, sql.format(table=f"{catalog(m)}.{schema}.every_type"))
            for m in MODES]
        assert answers == [[[1, dt.datetime(2027, 4, 3, 10)], [2, dt.datetime(2026, 1, 30, 10)]]
                           ] * 3
    for target, rows in results.items():
        assert len(rows) == 3, target
        for i, row in enumerate(rows):
            for column, want, got in zip(case.columns, expected[i], row, strict=False):
                if pa.types.is_float32(column.arrow) and got is not None:
                    got, want = f32(got), f32(want)  # Trino's client prints reals short
                assert canonical(got) == want, (target, i + 1, column.name, got)


SAME_QUERY = (
    'SELECT id, "at", local_at, dt FROM {table} '
    "WHERE dt = DATE '2026-03-02' "
    """AND "at" >= CAST('2026-03-01 15:00:00+00:00' AS TIMESTAMP WITH TIME ZONE) """
    "ORDER BY id"
)


@pytest.mark.postgres
def test_the_same_query_gives_the_same_answer_on_every_target(
    postgres_db: str, storage: StorageResource, trino_server: Service, schema: str,
    tmp_path: Path,
) -> None:
    """An analyst's query with a date partition filter and a zoned timestamp runs unchanged on
    DuckDB, Trino external and Trino Iceberg, with one answer."""
    execute(postgres_db, *postgres.CASE.events_ddl)
    pipeline = PipelineAssetConfig(name="events", table="events", date_column="at",
                                   save_to_trino=True)
    days = ["2026-03-01", "2026-03-02", "2026-03-03"]
    seoul = source(postgres_db, "auto", timezone="Asia/Seoul")
    list(run_extract(TENANT, pipeline, seoul, storage, days))
    path = load_everywhere(pipeline, storage, days, trino_server, schema, tmp_path)

    answers = {"duckdb": duckdb_rows(path, SAME_QUERY.format(table=f"{schema}.events"))}
    for mode in MODES:
        answers[mode] = query(trino_server, SAME_QUERY.format(
            table=f"{catalog(mode)}.{schema}.events"))
    day = dt.date(2026, 3, 2)
    expected = [
        [2, dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC), dt.datetime(2026, 3, 2), day],
        [3, dt.datetime(2026, 3, 2, 14, 59, 59, 999999, tzinfo=dt.UTC),
         dt.datetime(2026, 3, 2, 23, 59, 59, 999999), day],
    ]
    for target, rows in answers.items():
        assert [[canonical(v) for v in row] for row in rows] == expected, target


def test_a_column_named_like_the_partition_fails_before_anything_is_written(
    case: source_cases.SourceCase, db: str, storage: StorageResource,
) -> None:
    execute(db, *case.every_type_ddl)
    pipeline = PipelineAssetConfig(name="every_type", table="every_type", date_column="loaded")
    with pytest.raises(SourceError) as info:
        list(run_extract(TENANT, pipeline, source(db, "auto"), storage, [DAY, "2026-03-03"]))
    assert str(info.value) == naming.partition_clash_message("dt", "dt")
    assert files_under(storage, naming.dataset_path(TENANT, "extract", "every_type")) == []


@pytest.mark.parametrize("engine", ["duckdb", "sqlalchemy"])
def test_an_unfit_decimal_fails_before_any_day_is_written(
    case: source_cases.SourceCase, db: str, engine: str, storage: StorageResource,
) -> None:
    """The value is on the last day of the range: no day is written, and the message names the
    column, the value and both ways out; the suggested column_types choice then reads it."""
    execute(db, f"CREATE TABLE amounts (id int, n {case.unbounded_decimal}, at date)",
            "INSERT INTO amounts VALUES (1, 1.5, '2026-03-01'), (2, -2, '2026-03-02'), "
            f"(3, {case.unfit_value}, '2026-03-03')")
    days = ["2026-03-01", "2026-03-02", "2026-03-03"]
    pipeline = PipelineAssetConfig(name="amounts", table="amounts", date_column="at")
    reader = source(db, engine)
    folder = naming.dataset_path(TENANT, "extract", "amounts")
    for asked in (days, days[2:]):  # checked in the source first, or while streaming
        with pytest.raises(SourceError) as info:
            list(run_extract(TENANT, pipeline, reader, storage, asked))
        message = str(info.value)
        assert message.startswith(f"column 'n': the source value {case.unfit_value} does not "
                                  "fit decimal(38,9)"), message
        assert "column_types: {n: 'decimal(38," in message and "CAST(n AS" in message
        assert files_under(storage, folder) == []
    scale = len(case.unfit_value.split(".")[1])
    for choice, value in ((f"decimal(38,{scale})", Decimal(case.unfit_value)),
                          ("string", case.unfit_value)):
        chosen = pipeline.model_copy(update={"column_types": {"n": choice}})
        outcomes = dict(run_extract(TENANT, chosen, reader, storage, days))
        data = storage.dataset(naming.data_file_path(TENANT, "extract", "amounts", days[2]))
        assert outcomes[days[2]].rows == 1
        read = data.to_table().column("n").to_pylist()[0]
        assert (read if choice != "string" else read.rstrip("0")) == value, choice
