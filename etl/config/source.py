"""The ``source:`` block: the tenant's application database."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from etl.model.base import ColumnName, EnvVarName, FieldError, StrictModel
from etl.sources.dialects.url_credentials import url_credential

SourceEngine = Literal["auto", "duckdb", "sqlalchemy"]
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\+[A-Za-z0-9_]+)?://")


class SourceConfig(StrictModel):
    """The tenant's application database."""

    url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL without a password, e.g. postgresql+psycopg://etl@db:5432/mes, "
            "mysql+pymysql://etl@db:3306/mes or sqlite:///.etl/data/default/source.db. "
            "Relative SQLite paths are resolved against the working directory."
        ),
    )
    url_env: EnvVarName | None = Field(
        default=None, description="Name of an environment variable holding the whole URL."
    )
    password_env: EnvVarName | None = Field(
        default=None, description="Name of the environment variable holding the DB password."
    )
    db_schema: ColumnName | None = Field(
        default=None, description="Database schema that unqualified tables are read from."
    )
    batch_size: int = Field(
        default=25_000, ge=1_000, le=5_000_000,
        description=(
            "Rows per Arrow record batch; peak memory scales with it times max_parallel, "
            "not with the table."
        ),
    )
    max_parallel: int = Field(
        default=4, ge=1, le=32,
        description="Pipelines of this tenant extracted at once; protects the source database.",
    )
    statement_timeout_s: float | None = Field(
        default=None, gt=0, le=86_400,
        description=(
            "Seconds one source query may run (PostgreSQL statement_timeout, MySQL/MariaDB "
            "max_execution_time/max_statement_time); omit for no limit."
        ),
    )
    read_timeout_s: float = Field(
        default=300, gt=0, le=86_400,
        description=(
            "Seconds a read may wait for the source to answer (to connect, to plan, for each "
            "batch of rows) before it fails as stalled and the stage's retries apply; a frozen "
            "server cannot enforce statement_timeout_s itself."
        ),
    )
    max_concurrent_steps: int = Field(
        default=1, ge=1, le=32,
        description=(
            "Steps of this tenant reading its source at once, across all runs (the Dagster "
            "pool source_db__<tenant>); a deployment sets it on the instance."
        ),
    )
    engine: SourceEngine = Field(
        default="auto",
        description=(
            "Reader: 'duckdb' streams PostgreSQL/MySQL through DuckDB's scanner extensions "
            "(fast, exact types), 'sqlalchemy' is the generic path for any dialect, "
            "'auto' picks duckdb where it applies."
        ),
    )

    @model_validator(mode="after")
    def _one_url(self) -> SourceConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("set exactly one of 'url' or 'url_env'")
        return self

    @field_validator("url")
    @classmethod
    def _no_secret_in_url(cls, url: str | None) -> str | None:
        if url is None:
            return url
        # Parsed without SQLAlchemy: importing it would cost every code location ~1 s.
        if not _URL_SCHEME.match(url):
            raise ValueError(
                "not a SQLAlchemy URL; expected dialect+driver://user@host:port/database"
            )
        found = url_credential(url)  # decoded however often it was percent-encoded
        if found is None:
            return url
        # A FieldError: its message is shown as written, the URL only with the secret masked.
        if found.where == "user info":
            raise FieldError((), (
                "the URL contains a password; remove it and name an environment variable "
                f"in 'password_env' instead (got {found.masked!r})"))
        raise FieldError((), (
            f"the URL's {found.where} carries a credential (a password, key, token or a file "
            "holding one); remove it and name an environment variable in 'password_env' "
            f"instead, or put the whole URL in the variable named by 'url_env' (got "
            f"{found.masked!r})"))
