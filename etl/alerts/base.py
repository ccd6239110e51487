"""The contract every alert destination kind fulfils, and the message they all send.

A destination kind is one module (``etl/alerts/<kind>.py``) with a config model subclassing
:class:`DestinationConfig`: its ``type`` literal is the ``alerts.destinations[].type`` value
users write; fields naming environment variables end in ``_env`` (the deployment gives the
tenant's code server exactly those); ``send(message, timeout_s)`` delivers one message or
raises :class:`DeliveryError` with a message that holds none of its secrets; ``secrets()`` are
the values redaction must mask; ``example`` is a block the contract test builds. Register it
in :mod:`etl.alerts.registry`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal, get_args

from pydantic import Field, field_validator

from etl.model.base import StrictModel
from etl.utils.logging import redact

AlertEvent = Literal["run_failed", "check_failed", "freshness_missed"]
EVENTS: Final[tuple[AlertEvent, ...]] = get_args(AlertEvent)
SUPPRESSED: Final = "suppressed"
"""The event of the summary sent when a rate-limited hour is over."""
DEFAULT_TIMEOUT_S: Final = 10.0


class DeliveryError(RuntimeError):
    """A destination did not take a message; the text names the cause, never a secret."""


@dataclass(frozen=True)
class AlertMessage:
    """One alert: what happened, in a title, a few lines and the fields a program reads.

    ``key`` identifies the event (a run, a check result) for deduplication. Nothing in a
    message is secret or a data value: it is built from names, days, counts and redacted
    error text only.
    """

    event: str
    key: str
    tenant: str
    title: str
    lines: tuple[str, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)
    link: str | None = None

    def text(self) -> str:
        """The message as plain text: the title, its lines, the link."""
        body = [self.title, *self.lines]
        if self.link:
            body.append(f"Open in Dagster: {self.link}")
        return "\n".join(body)

    def document(self) -> dict[str, Any]:
        """The message as one JSON document (the generic webhook's body)."""
        return {"event": self.event, "tenant": self.tenant, "title": self.title,
                "text": self.text(), **self.fields, "url": self.link}

    def to_json(self) -> str:
        return json.dumps({"event": self.event, "key": self.key, "tenant": self.tenant,
                           "title": self.title, "lines": list(self.lines),
                           "fields": dict(self.fields), "link": self.link}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AlertMessage:
        data = json.loads(text)
        return cls(data["event"], data["key"], data["tenant"], data["title"],
                   tuple(data["lines"]), data["fields"], data["link"])


class DestinationConfig(StrictModel):
    """Where a tenant's alerts go; subclasses add the kind's own fields."""

    example: ClassVar[dict[str, Any]] = {}
    type: str = Field(description="The kind of destination.")
    events: tuple[AlertEvent, ...] = Field(
        default=EVENTS,
        description=(
            "Which events go here: run_failed, check_failed (a blocking check), "
            "freshness_missed; default all three."
        ),
    )

    @field_validator("events")
    @classmethod
    def _some_events_once(cls, events: tuple[str, ...]) -> tuple[str, ...]:
        if not events:
            raise ValueError("name at least one event (run_failed, check_failed, "
                             "freshness_missed), or remove the destination")
        repeated = sorted({e for e in events if events.count(e) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return events

    def wants(self, event: str) -> bool:
        """Whether this destination takes ``event`` (the suppression summary goes everywhere)."""
        return event == SUPPRESSED or event in self.events

    def label(self) -> str:
        """Who receives, for logs: no secret (a webhook's URL is one)."""
        return self.type

    def secrets(self) -> list[str]:
        """The values of this destination's ``*_env`` variables, for redaction."""
        return env_values(self)

    def send(self, message: AlertMessage, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        raise NotImplementedError


def env_values(model: StrictModel) -> list[str]:
    """The values of the variables named by ``model``'s ``*_env`` fields, nested ones too."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name.endswith("_env") and isinstance(value, str) and os.environ.get(value):
            found.append(os.environ[value])
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, StrictModel):
                found.extend(env_values(item))
    return found


def required_env(variable: str, field_name: str) -> str:
    """The value of ``variable``, or a delivery error naming the field (not the value)."""
    value = os.environ.get(variable)
    if not value:
        raise DeliveryError(f"{field_name} names the environment variable {variable}, which "
                            "is not set in this code location")
    return value


def delivery_error(what: str, error: object, secrets: Sequence[str]) -> DeliveryError:
    """``error`` as a delivery error whose text masks ``secrets`` (and any URL password)."""
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    reason = redact(text, secrets)
    return DeliveryError(f"{what}: {reason}")
