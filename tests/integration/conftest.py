"""Fixtures the integration modules share: the source server under test, a Trino schema, the
test bucket's lake and the Trino loader a tenant would get."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from etl.resources.s3 import StorageResource
from etl.warehouse.trino.loader import TrinoWarehouse
from tests.integration import source_cases
from tests.integration.source_cases import mariadb, postgres
from tests.integration.trino_support import bucket_storage, fresh_schema, trino_loader
from tools.services.base import Service
from tools.services.s3 import S3Bucket


@pytest.fixture(params=[
    pytest.param(postgres.CASE, id="postgres", marks=pytest.mark.postgres),
    pytest.param(mariadb.CASE, id="mariadb", marks=pytest.mark.mariadb),
])
def case(request: pytest.FixtureRequest) -> source_cases.SourceCase:
    """The server under test; its marker lets ``-m postgres`` / ``-m mariadb`` select it."""
    param: source_cases.SourceCase = request.param
    return param


@pytest.fixture
def db(case: source_cases.SourceCase, request: pytest.FixtureRequest) -> str:
    """URL of a fresh database on the case's server (started on first use)."""
    url: str = request.getfixturevalue(case.db_fixture)
    return url


@pytest.fixture
def schema(trino_server: Service, s3_bucket: S3Bucket) -> Iterator[str]:
    """A fresh Trino schema in both catalogs; Iceberg files go to this test's bucket."""
    with fresh_schema(trino_server, s3_bucket) as name:
        yield name


@pytest.fixture
def storage(s3_bucket: S3Bucket) -> StorageResource:
    """The lake in the test's bucket, as a tenant with ``storage.root: s3://...`` has it."""
    return bucket_storage(s3_bucket)


@pytest.fixture
def warehouse(trino_server: Service, schema: str) -> TrinoWarehouse:
    return trino_loader(trino_server.host, trino_server.port, schema)
