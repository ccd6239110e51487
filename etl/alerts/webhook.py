"""A generic HTTP webhook: one JSON document per message, with the event's fields.

The body is ``{"event", "tenant", "title", "text", "url", ...}`` plus the event's own fields
(see the README's Alerts section). Headers (e.g. ``Authorization``) take their values from the
environment, like the URL, and both are kept out of logs and errors.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from etl.alerts.base import DEFAULT_TIMEOUT_S, AlertMessage, DestinationConfig, required_env
from etl.alerts.http import post_json
from etl.model.base import EnvVarName, StrictModel

_TOKEN = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class HeaderFromEnv(StrictModel):
    """One request header whose value is read from the environment."""

    name: str = Field(description="The header's name, e.g. Authorization.")
    value_env: EnvVarName = Field(
        description="Name of the environment variable holding the header's value."
    )

    @field_validator("name")
    @classmethod
    def _header_name(cls, name: str) -> str:
        if not name or any(c not in _TOKEN for c in name):
            raise ValueError("not an HTTP header name; use letters, digits and '-', "
                             "e.g. Authorization or X-Api-Key")
        return name


class WebhookDestination(DestinationConfig):
    """Any HTTP endpoint that takes a JSON POST."""

    example: ClassVar[dict[str, Any]] = {
        "type": "webhook", "url_env": "T1_ALERT_WEBHOOK_URL",
        "headers": [{"name": "Authorization", "value_env": "T1_ALERT_WEBHOOK_TOKEN"}]}
    type: Literal["webhook"] = Field(description="The kind of destination.")
    url_env: EnvVarName = Field(
        description="Name of the environment variable holding the endpoint's URL (http(s))."
    )
    headers: tuple[HeaderFromEnv, ...] = Field(
        default=(), description="Headers to send, each value from an environment variable."
    )

    def send(self, message: AlertMessage, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        url = required_env(self.url_env, "url_env")
        headers = {h.name: required_env(h.value_env, "headers.value_env") for h in self.headers}
        post_json(url, message.document(), headers, timeout_s, "webhook", self.secrets())
