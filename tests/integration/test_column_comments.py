"""Source column comments reach the Parquet files and Dagster's column schema (real servers)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from etl.demo.sample_db import seed
from etl.stages.outcome import table_schema
from tests.integration.source_support import ENGINES, extract

DAY = dt.date(2026, 3, 1)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("server", [
    pytest.param("postgres_db", marks=pytest.mark.postgres),
    pytest.param("mariadb_db", marks=pytest.mark.mariadb),
])
def test_comments_become_column_descriptions(server: str, engine: str, tmp_path: Path,
                                             request: pytest.FixtureRequest) -> None:
    url: str = request.getfixturevalue(server)
    db = sa.create_engine(url)
    try:
        seed(db, [DAY])
    finally:
        db.dispose()
    rows, table = extract(url, engine, tmp_path, DAY.isoformat(), table="work_order",
                          date_column="created_at")
    assert rows == table.num_rows > 0
    written = pq.read_schema(next((tmp_path / f"lake-{engine}").rglob("*.parquet")))
    described = {c.name: c.description for c in table_schema(written).columns}
    assert described["status"] == "RELEASED, RUNNING, DONE or HOLD"
    assert described["planned_qty"] == "Units planned"
    assert described["id"] is None  # no comment, no description
