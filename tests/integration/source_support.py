"""Helpers shared by the PostgreSQL and MariaDB source tests."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.rdb import SourceDatabaseResource
from etl.stages.extract import run_extract
from tests.helpers import source_resource, storage_resource

ENGINES = ("duckdb", "sqlalchemy")
WRONG_PASSWORD = "Wr0ng-Pa55-'Secret' x"


def source(url: str, engine: str, password: str | None = None, **kw: Any) -> SourceDatabaseResource:
    """The resource as a tenant configures it: URL without the password, password apart."""
    parsed = make_url(url)
    secret = password if password is not None else parsed.password
    # URL.set(password=None) keeps the password (None means "unchanged"); _replace drops it.
    return source_resource(parsed._replace(password=None).render_as_string(hide_password=False),
                           password=secret, engine=engine, **kw)


def extract(
    url: str, engine: str, tmp: Path, partition: str | None = None, **pipeline: Any
) -> tuple[int, pa.Table]:
    """Run the extract stage into a local lake; (rows reported, the Parquet read back)."""
    pipeline.setdefault("name", "p")
    storage = storage_resource(str(tmp / f"lake-{engine}"))
    ((_, outcome),) = run_extract("t1", PipelineAssetConfig(**pipeline), source(url, engine),
                                  storage, [partition] if partition else None)
    return outcome.rows, pq.read_table(outcome.uri)


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def assert_no_secret(error: BaseException, secret: str) -> None:
    """Neither the message, nor the printed traceback, nor any chained error holds it."""
    printed = "".join(traceback.format_exception(error))
    assert secret not in printed
    seen: BaseException | None = error
    while seen is not None:
        assert secret not in str(seen) and secret not in repr(seen.args)
        seen = seen.__cause__ or seen.__context__
