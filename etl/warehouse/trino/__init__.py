"""The Trino warehouse kind: Parquet on S3 as Hive external tables or loaded into Iceberg.

Config (``warehouse.type: trino``) and resource of this kind; the loader is
:mod:`etl.warehouse.trino.loader`, imported when a run loads. Where the Parquet files live is
Trino's business: the S3 endpoint and keys are properties of the server's catalogs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal, get_args

import dagster as dg
from pydantic import Field, model_validator

from etl import naming
from etl.model.base import EnvVarName, FieldProblem, Identifier
from etl.utils.hosts import normal_host
from etl.warehouse.base import LoadMode, Warehouse, WarehouseConfigBase, WarehouseResource
from etl.warehouse.trino.resource import TrinoResource

TrinoLoadMode = Literal["external", "iceberg"]
"""``external``: a view over a Hive table on the Parquet files (zero copy); ``iceberg``: a
managed table the rows are merged into."""


class TrinoWarehouseResource(WarehouseResource):
    """Loads Parquet from the lake into Hive external or Iceberg tables of one Trino schema."""

    trino: TrinoResource = Field(description="Connection settings of the tenant's Trino.")
    catalog: str = Field(description="Catalog of the external (Hive) tables.")
    iceberg_catalog: str = Field(description="Catalog of the Iceberg tables.")
    schema_name: str = Field(description="Schema holding the tenant's tables.")
    default_load_mode: LoadMode = Field(description="Mode of pipelines that choose none.")

    def warehouse(self) -> Warehouse:
        from etl.warehouse.trino.loader import TrinoWarehouse

        t = self.trino
        return TrinoWarehouse(
            lambda: t.connect(),
            address=t.address,
            catalog=self.catalog,
            iceberg_catalog=self.iceberg_catalog,
            schema=self.schema_name,
            default_mode=self.default_load_mode,
            secrets=(t.password, t.jwt),
        )


def _env(name: str | None) -> dg.EnvVar | None:
    return dg.EnvVar(name) if name else None


class TrinoWarehouseConfig(WarehouseConfigBase):
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
    default_load_mode: TrinoLoadMode = Field(
        default="external", description="Load mode for pipelines that do not choose one."
    )
    request_timeout_s: float = Field(
        default=300.0, gt=0, le=86_400,
        description="Seconds one request to the coordinator may take before it fails.",
    )

    asset_kind: ClassVar[str] = "trino"
    needs_object_storage: ClassVar[bool] = True
    example: ClassVar[dict[str, Any]] = {"type": "trino", "host": "trino.internal", "port": 8080}
    load_modes: ClassVar[tuple[LoadMode, ...]] = get_args(TrinoLoadMode)
    transient_errors: ClassVar[tuple[str, ...]] = (
        r"server_starting_up", r"http status 5\d\d", r"\b50[234]\b",
    )
    permanent_errors: ClassVar[tuple[str, ...]] = (r"refused the request",)

    @model_validator(mode="after")
    def _one_auth(self) -> TrinoWarehouseConfig:
        if self.password_env and self.jwt_env:
            raise ValueError("set at most one of 'password_env' or 'jwt_env'")
        if (self.password_env or self.jwt_env) and self.http_scheme != "https":
            raise ValueError("password or JWT authentication needs http_scheme: https")
        return self

    def effective_mode(self, mode: LoadMode | None) -> LoadMode | None:
        return mode or self.default_load_mode

    def merge_refusal(self, mode: LoadMode | None) -> str | None:
        if self.effective_mode(mode) == "iceberg":
            return None
        return ("external (Hive) tables are the lake's files and cannot be updated by key; "
                "set load_mode: iceberg for this pipeline")

    def pipeline_problems(self, loads: Sequence[tuple[str, LoadMode | None]]
                          ) -> list[tuple[int, str]]:
        """External mode makes a Hive table ``<name>__raw`` beside the view ``<name>``: a
        pipeline named like it would drop or replace it with its own load."""
        external = {naming.raw_table(naming.warehouse_table(name)).lower(): name
                    for name, mode in loads if self.effective_mode(mode) == "external"}
        return [(index, (
            f"its table {naming.warehouse_table(name)} is the raw table of pipeline "
            f"{external[table]!r}, which loads in external mode (a view "
            f"{naming.warehouse_table(external[table])} over the Hive table "
            f"{naming.warehouse_table(name)}), so each load would drop the other's table; "
            f"rename this pipeline (no name may end in {naming.RAW_TABLE_SUFFIX} after another "
            f"pipeline's), or give {external[table]!r} load_mode: iceberg"))
            for index, (name, _) in enumerate(loads)
            if (table := naming.warehouse_table(name).lower()) in external]

    def build_resource(self, tenant: str) -> TrinoWarehouseResource:
        return TrinoWarehouseResource(
            trino=TrinoResource(
                host=self.host, port=self.port, user=self.user, http_scheme=self.http_scheme,
                password=_env(self.password_env), jwt=_env(self.jwt_env),
                request_timeout_s=self.request_timeout_s,
            ),
            catalog=self.catalog,
            iceberg_catalog=self.iceberg_catalog,
            schema_name=self.schema_for(tenant),
            default_load_mode=self.default_load_mode,
        )

    def target(self, tenant: str) -> tuple[str, ...]:
        return ("trino", normal_host(self.host), str(self.port), self.schema_for(tenant))

    def describe(self, tenant: str) -> str:
        address = f"{self.http_scheme}://{self.host}:{self.port}"
        return f"Trino {address} (schema {self.schema_for(tenant)})"

    def probe(self, tenant: str, modes: frozenset[LoadMode | None], timeout_s: float,
              ) -> list[FieldProblem]:
        from etl.warehouse.trino.probe import probe_trino  # the trino client: only here

        return probe_trino(self, modes, timeout_s)
