"""Every alert destination kind, one line each.

The ``alerts.destinations`` config union, its JSON Schema and delivery all read this tuple;
adding a kind is one module (see :mod:`etl.alerts.base`) and one line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Final, Union

from pydantic import Field

from etl.alerts.base import DestinationConfig
from etl.alerts.email import EmailDestination
from etl.alerts.slack import SlackDestination
from etl.alerts.webhook import WebhookDestination

ALERT_KINDS: Final[tuple[type[DestinationConfig], ...]] = (
    SlackDestination,
    EmailDestination,
    WebhookDestination,
)

if TYPE_CHECKING:
    AlertDestination = DestinationConfig
else:  # the discriminated union Pydantic validates against, built from the registry
    AlertDestination = Annotated[Union[ALERT_KINDS], Field(discriminator="type")]  # noqa: UP007
