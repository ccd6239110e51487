"""Trino connection settings as a Dagster resource.

Host, port, user and scheme come from the tenant's config; the password or JWT only from an
environment variable (``dg.EnvVar``), so it is read when a run starts and masked by Dagster.
"""

from __future__ import annotations

from typing import Any, Literal

import dagster as dg
from pydantic import Field

from etl.utils.secrets import secret_field


class TrinoResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """A connection factory for one Trino coordinator."""

    host: str = Field(description="Coordinator host.")
    port: int = Field(description="Coordinator port.")
    user: str = Field(description="Trino user.")
    http_scheme: Literal["http", "https"] = Field(description="http or https.")
    password: str | None = secret_field("Password (basic auth).")
    jwt: str | None = secret_field("JWT token.")
    request_timeout_s: float = Field(description="Seconds one HTTP request may take.")

    @property
    def address(self) -> str:
        return f"{self.http_scheme}://{self.host}:{self.port}"

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
            catalog=catalog,
            request_timeout=self.request_timeout_s,
            max_attempts=1,
        )
