"""Slack: a message to an incoming webhook (``{"text": ...}``).

The webhook URL embeds its token, so it is a secret: it comes from the environment variable
``url_env`` names and appears in no log or error.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from etl.alerts.base import DEFAULT_TIMEOUT_S, AlertMessage, DestinationConfig, required_env
from etl.alerts.http import post_json
from etl.model.base import EnvVarName


class SlackDestination(DestinationConfig):
    """A Slack channel, through an incoming webhook."""

    example: ClassVar[dict[str, Any]] = {"type": "slack", "url_env": "T1_SLACK_WEBHOOK_URL"}
    type: Literal["slack"] = Field(description="The kind of destination.")
    url_env: EnvVarName = Field(
        description=(
            "Name of the environment variable holding the incoming webhook's URL "
            "(https://hooks.slack.com/services/...), a secret."
        ),
    )

    def send(self, message: AlertMessage, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        url = required_env(self.url_env, "url_env")
        post_json(url, {"text": message.text()}, {}, timeout_s, "slack webhook",
                  self.secrets())
