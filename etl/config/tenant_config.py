"""Typed, strict models for a tenant's ``config.yaml``.

Unknown keys are rejected (a typo fails at load, not at 2 a.m.), models are frozen, and every
field carries a description so the generated JSON Schema documents the YAML for editors.
Secrets never appear here: only the *names* of environment variables that hold them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from etl.naming import IDENTIFIER_PATTERN

Identifier = Annotated[
    str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=63)
]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]*$")]
SourceIdentifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
]
ColumnName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*$")]

COMMON_TRANSFER_PREFIX: Final = "common:"
TENANT_TRANSFER_PREFIX: Final = "tenant:"
DEFAULT_TRANSFER: Final = "common:standardize"
_TRANSFER_REF = re.compile(r"^(common|tenant):[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_QUERY = re.compile(r"(?i)(^|&)(password|passwd|pwd)=")
TagValue = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{0,63}$")]
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\+[A-Za-z0-9_]+)?://")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantInfo(StrictModel):
    id: Identifier = Field(description="Tenant id; must equal the tenant's folder name.")
    name: str = Field(description="Human-readable tenant name shown in descriptions and tags.")
    description: str = Field(default="", description="Free text about the customer site.")


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
    engine: Literal["auto", "duckdb", "sqlalchemy"] = Field(
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
        parts = urlsplit(url)
        if parts.password is not None or _SECRET_QUERY.search(parts.query):
            raise ValueError(
                "the URL contains a password; remove it and name an environment variable "
                "in 'password_env' instead"
            )
        return url


class StorageConfig(StrictModel):
    """Where Parquet files land: an S3 bucket (any S3 endpoint) or a local folder."""

    root: str = Field(
        description="s3://bucket/prefix, or a local folder (relative to the working directory)."
    )
    endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint, e.g. http://127.0.0.1:9000."
    )
    region: str | None = Field(
        default=None,
        description="S3 region (default: AWS_REGION, then the AWS config file, else us-east-1).",
    )
    path_style: bool | None = Field(
        default=None,
        description=(
            "Path-style addressing (bucket in the path, not the host name). Default: on when "
            "endpoint_url is set (MinIO, moto, Ceph...), off for AWS."
        ),
    )
    access_key_env: EnvVarName | None = Field(
        default=None, description="Env var with the S3 access key (default: AWS credential chain)."
    )
    secret_key_env: EnvVarName | None = Field(
        default=None, description="Env var with the S3 secret key."
    )
    compression: Literal["zstd", "snappy", "gzip", "none"] = Field(
        default="zstd", description="Parquet compression codec."
    )

    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://minio:9000")
        return value

    @model_validator(mode="after")
    def _keys_together(self) -> StorageConfig:
        if (self.access_key_env is None) != (self.secret_key_env is None):
            raise ValueError("set both 'access_key_env' and 'secret_key_env', or neither")
        if self.root.startswith(("s3a://", "s3n://", "gs://", "abfs://")):
            raise ValueError("'root' must be s3://bucket/prefix or a local folder")
        if self.is_s3 and len(self.root) <= len("s3://"):
            raise ValueError("'root' needs a bucket: s3://bucket/prefix")
        return self


class DuckDBWarehouseConfig(StrictModel):
    type: Literal["duckdb"] = Field(description="Embedded DuckDB file.")
    path: str = Field(
        default=".etl/warehouse.duckdb",
        description="DuckDB database file (relative to the working directory).",
    )
    schema_name: Identifier | None = Field(
        default=None, description="Schema for the tenant's tables (default: the tenant id)."
    )


class TrinoWarehouseConfig(StrictModel):
    type: Literal["trino"] = Field(description="A Trino cluster.")
    host: str = Field(description="Trino coordinator host.")
    port: int = Field(default=8080, ge=1, le=65535, description="Coordinator port.")
    user: str = Field(default="etl", description="Trino user.")
    http_scheme: Literal["http", "https"] = Field(default="http", description="http or https.")
    password_env: EnvVarName | None = Field(
        default=None, description="Env var with the password (basic auth, https only)."
    )
    jwt_env: EnvVarName | None = Field(default=None, description="Env var with a JWT token.")
    catalog: Identifier = Field(
        default="hive", description="Catalog for external (Hive) tables over the Parquet files."
    )
    iceberg_catalog: Identifier = Field(
        default="iceberg", description="Catalog for managed Iceberg tables."
    )
    schema_name: Identifier | None = Field(
        default=None, description="Schema for the tenant's tables (default: the tenant id)."
    )
    default_load_mode: Literal["external", "iceberg"] = Field(
        default="external", description="Load mode for pipelines that do not choose one."
    )

    @model_validator(mode="after")
    def _one_auth(self) -> TrinoWarehouseConfig:
        if self.password_env and self.jwt_env:
            raise ValueError("set at most one of 'password_env' or 'jwt_env'")
        if (self.password_env or self.jwt_env) and self.http_scheme != "https":
            raise ValueError("password or JWT authentication needs http_scheme: https")
        return self


WarehouseConfig = Annotated[
    DuckDBWarehouseConfig | TrinoWarehouseConfig, Field(discriminator="type")
]


class ScheduleConfig(StrictModel):
    cron: str = Field(default="0 2 * * *", description="When daily_etl_job runs (cron).")
    timezone: str = Field(default="UTC", description="IANA time zone for cron and partitions.")
    start_date: dt.date = Field(description="First daily partition (YYYY-MM-DD).")
    enabled: bool = Field(default=False, description="Start schedules running when deployed.")
    master_sync_cron: str | None = Field(
        default=None, description="Optional cron for master_sync_job; omit for no schedule."
    )

    @field_validator("cron", "master_sync_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        import dagster as dg  # the schedule itself is the judge of what cron Dagster accepts

        if value is None:
            return value
        try:
            dg.ScheduleDefinition(name="cron_check", cron_schedule=value, job_name="cron_check")
        except dg.DagsterInvalidDefinitionError:
            raise ValueError(
                "not a valid cron expression; use five fields, e.g. '0 2 * * *' (02:00 daily)"
            ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like Asia/Seoul"
            ) from e
        return value


class TransferConfig(StrictModel):
    """How a pipeline's extracted data is reshaped before loading."""

    function: str | None = Field(
        default=None,
        description=(
            "'common:<name>' for a function in etl/common/assets/transfer.py, or "
            "'tenant:<name>' for one in the tenant's assets/transfer.py."
        ),
    )
    sql: str | None = Field(
        default=None,
        description="DuckDB SQL over a relation named 'source', e.g. SELECT ... FROM source.",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> TransferConfig:
        if (self.function is None) == (self.sql is None):
            raise ValueError("set exactly one of 'function' or 'sql'")
        if self.function is not None and not _TRANSFER_REF.match(self.function):
            raise ValueError(
                f"'function' must look like 'common:<name>' or 'tenant:<name>', got "
                f"{self.function!r}"
            )
        return self


class PipelineAssetConfig(StrictModel):
    """One source table or query and what happens to it: extract, transfer, load."""

    name: Identifier = Field(description="Pipeline name; the last part of its asset keys.")
    description: str = Field(default="", description="Shown on the assets in Dagster.")
    enabled: bool = Field(default=True, description="false disables an inherited pipeline.")
    table: SourceIdentifier | None = Field(
        default=None, description="Source table, optionally schema-qualified."
    )
    query: str | None = Field(
        default=None,
        description="Source SQL instead of a table; partitioned pipelines filter it by day.",
    )
    columns: tuple[ColumnName, ...] | None = Field(
        default=None, description="Columns to extract (default: all)."
    )
    date_column: ColumnName | None = Field(
        default=None,
        description="Column that assigns rows to a day; omit for unpartitioned master data.",
    )
    primary_key: tuple[ColumnName, ...] = Field(
        default=(), description="Key columns; the common transfer de-duplicates on them."
    )
    has_transfer: bool = Field(default=False, description="Run the transfer stage.")
    transfer: TransferConfig | None = Field(
        default=None, description=f"Which transfer to run (default {DEFAULT_TRANSFER})."
    )
    save_to_trino: bool = Field(default=False, description="Run the load stage.")
    load_mode: Literal["external", "iceberg"] | None = Field(
        default=None, description="Trino load mode (default: the warehouse's default_load_mode)."
    )
    schema_drift: Literal["add_columns", "fail"] = Field(
        default="add_columns",
        description="New nullable source columns are added, or any change fails the load.",
    )
    batch_size: int | None = Field(
        default=None, ge=1_000, le=5_000_000, description="Overrides source.batch_size."
    )

    @property
    def is_partitioned(self) -> bool:
        return self.date_column is not None

    def has_stage(self, stage: str) -> bool:
        """Whether this pipeline has the ``extract``, ``transfer`` or ``load`` stage."""
        return {"extract": True, "transfer": self.has_transfer,
                "load": self.save_to_trino}[stage]

    @property
    def transfer_ref(self) -> TransferConfig:
        return self.transfer or TransferConfig(function=DEFAULT_TRANSFER)

    @model_validator(mode="after")
    def _consistent(self) -> PipelineAssetConfig:
        if (self.table is None) == (self.query is None):
            raise ValueError("set exactly one of 'table' or 'query'")
        if self.transfer is not None and not self.has_transfer:
            raise ValueError("'transfer' is set but has_transfer is false; set has_transfer: true")
        if self.columns is not None and self.date_column and self.date_column not in self.columns:
            raise ValueError(f"'columns' must include the date_column {self.date_column!r}")
        return self


class AssetsConfig(StrictModel):
    pipelines: tuple[PipelineAssetConfig, ...] = Field(
        default=(),
        description="Pipelines added to, overriding (same name) or disabling the common ones.",
    )

    @field_validator("pipelines")
    @classmethod
    def _unique(cls, value: tuple[PipelineAssetConfig, ...]) -> tuple[PipelineAssetConfig, ...]:
        seen: set[str] = set()
        for pipeline in value:
            if pipeline.name in seen:
                raise ValueError(f"pipeline name {pipeline.name!r} appears twice")
            seen.add(pipeline.name)
        return value

    @property
    def enabled(self) -> tuple[PipelineAssetConfig, ...]:
        return tuple(p for p in self.pipelines if p.enabled)


class TenantConfig(StrictModel):
    """A tenant's whole ``config.yaml``."""

    tenant: TenantInfo = Field(description="Who the tenant is.")
    source: SourceConfig = Field(description="The tenant's application database.")
    storage: StorageConfig = Field(description="Where Parquet files are written.")
    warehouse: WarehouseConfig = Field(description="Where loaded tables live.")
    schedule: ScheduleConfig = Field(description="Daily schedule and partition start.")
    tags: dict[Identifier, TagValue] = Field(
        default_factory=dict,
        description=(
            "Tags put on every asset and job of the tenant; values are up to 63 letters, "
            "digits, '_', '.' or '-' (Dagster's rule for tag values)."
        ),
    )
    assets: AssetsConfig = Field(default_factory=AssetsConfig, description="Pipelines.")


class CommonPipelines(StrictModel):
    """``etl/common/pipelines.yaml``: pipelines every tenant inherits."""

    pipelines: tuple[PipelineAssetConfig, ...] = Field(
        description="Pipelines shared by every tenant."
    )
