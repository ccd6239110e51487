"""Trino connection settings as a Dagster resource.

Host, port, user and catalogs come from the tenant's config; the password or JWT only from an
environment variable (``dg.EnvVar``), so it is read when a run starts and masked by Dagster.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field


class TrinoResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """A connection factory for one tenant's Trino schema."""

    host: str
    port: int = 8080
    user: str = "etl"
    http_scheme: str = "http"
    password: str | None = Field(default=None, json_schema_extra={"dagster__is_secret": True})
    jwt: str | None = Field(default=None, json_schema_extra={"dagster__is_secret": True})
    catalog: str = "hive"
    iceberg_catalog: str = "iceberg"
    schema_name: str = Field(description="Schema holding the tenant's tables.")
    default_load_mode: str = "external"
    request_timeout_s: float = 300.0

    def connect(self, catalog: str | None = None) -> Any:
        """A DB-API connection; ``trino`` is imported here so definitions load without it."""
        import trino

        auth: Any = trino.constants.DEFAULT_AUTH
        if self.password:
            auth = trino.auth.BasicAuthentication(self.user, self.password)
        elif self.jwt:
            auth = trino.auth.JWTAuthentication(self.jwt)
        return trino.dbapi.connect(  # type: ignore[no-untyped-call]
            host=self.host,
            port=self.port,
            user=self.user,
            http_scheme=self.http_scheme,
            auth=auth,
            catalog=catalog or self.catalog,
            request_timeout=self.request_timeout_s,
            max_attempts=1,
        )
