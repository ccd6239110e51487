"""The ``alerts:`` block: where a tenant's alerts go, and how many an hour.

Defaults for every tenant may be written in ``etl/common/alerts.yaml`` (see
:mod:`etl.config.common_alerts`); a tenant's own keys replace them. The destinations are the
registered kinds (:mod:`etl.alerts.registry`); their secrets are environment-variable names.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from etl.alerts.registry import AlertDestination
from etl.model.base import StrictModel


class AlertsConfig(StrictModel):
    """Messages about a tenant's failed runs, failed blocking checks and missed deadlines."""

    enabled: bool = Field(
        default=True,
        description=(
            "false: the alert sensors are defined but stopped (they can be started in the UI)."
        ),
    )
    destinations: tuple[AlertDestination, ...] = Field(
        default=(),
        description="Where alerts go: slack, email or webhook entries; none means no alerts.",
    )
    max_per_hour: int = Field(
        default=30, ge=1, le=1000,
        description=(
            "Alerts of this tenant per hour at most; the rest are counted and one message says "
            "how many were suppressed once the hour is over."
        ),
    )
    max_attempts: int = Field(
        default=8, ge=1, le=50,
        description=(
            "Tries per alert and destination before it is dropped (logged); the waits between "
            "tries double from 30 seconds up to 30 minutes."
        ),
    )
    ui_url: str | None = Field(
        default=None,
        description="The Dagster UI's address, e.g. https://dagster.example.com, for links.",
    )

    @field_validator("ui_url")
    @classmethod
    def _ui_address(cls, url: str | None) -> str | None:
        if url is None:
            return url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) address; write e.g. https://dagster.example.com")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("write the UI's address only, without a login, query or fragment")
        return url.rstrip("/")
