"""A source URL carries no credential, however it is encoded (``etl.sources.dialects``).

The config fixtures (``password_*``, ``credential_file_in_url``, ``odbc_password_in_url``)
show the messages; this table shows which URLs are refused and which pass.
"""

from __future__ import annotations

import pytest

from etl.sources.dialects.url_credentials import url_credential

REFUSED = {
    "postgresql+psycopg://etl:hunter2@db/mes": "user info",
    "postgresql+psycopg://etl:@db/mes": "user info",
    "postgresql+psycopg://etl%3Ahunter2@db/mes": "user info",
    "postgresql+psycopg://etl%25253Ahunter2@db/mes": "user info",
    "mysql+pymysql://etl@db/mes?password=x": "query parameter 'password'",
    "mysql+pymysql://etl@db/mes?charset=utf8mb4&PASSWD=x": "query parameter 'PASSWD'",
    "mysql+pymysql://etl@db/mes?pass%77ord=x": "query parameter 'pass%77ord'",
    "mysql+pymysql://etl@db/mes?pass%2577ord=x": "query parameter 'pass%2577ord'",
    "mysql+pymysql://etl@db/mes?p%61ss=x": "query parameter 'p%61ss'",
    "mysql+pymysql://etl@db/mes?read_default_file=/etc/mysql/victim.cnf":
        "query parameter 'read_default_file'",
    "postgresql://etl@db/mes?sslpassword=x": "query parameter 'sslpassword'",
    "postgresql://etl@db/mes?service=victim": "query parameter 'service'",
    "postgresql://etl@db/mes?passfile=/home/etl/.pgpass": "query parameter 'passfile'",
    "oracle+oracledb://etl@db/mes?wallet_password=x": "query parameter 'wallet_password'",
    "mssql+pyodbc://etl@dsn?odbc_connect=DRIVER%3Dx%3BPwd%3Dx": "query parameter 'odbc_connect'",
    "mssql+pyodbc://etl@dsn?PWD=x": "query parameter 'PWD'",
    "snowflake://etl@acct/db?private_key_file=/k": "query parameter 'private_key_file'",
    "trino://etl@host/hive?access_token=x": "query parameter 'access_token'",
    "bigquery://project?credentials_path=/k.json": "query parameter 'credentials_path'",
    "redshift+psycopg2://etl@db/dev?aws_secret_access_key=x":
        "query parameter 'aws_secret_access_key'",
    "postgresql://etl@db/mes?Client-Secret=x": "query parameter 'Client-Secret'",
}
ACCEPTED = [
    "sqlite:///.etl/sources/default.db",
    "postgresql+psycopg://etl@db:5432/mes",
    "postgresql+psycopg://etl@db:5432/mes?sslmode=verify-full&application_name=etl"
    "&connect_timeout=10&options=-csearch_path%3Dmes",
    "mysql+pymysql://etl@db:3306/mes?charset=utf8mb4",
    "mssql+pyodbc://etl@dsn?driver=ODBC+Driver+18&odbc_connect=DRIVER%3Dx%3BServer%3Ddb",
    "mysql+pymysql://etl@db/mes?passthrough=1",
]


@pytest.mark.parametrize(("url", "where"), REFUSED.items())
def test_a_credential_anywhere_in_the_url_is_found_and_masked(url: str, where: str) -> None:
    found = url_credential(url)
    assert found is not None and found.where == where
    assert "hunter2" not in found.masked and "=x" not in found.masked
    assert "***" in found.masked


@pytest.mark.parametrize("url", ACCEPTED)
def test_urls_without_a_credential_pass(url: str) -> None:
    assert url_credential(url) is None
