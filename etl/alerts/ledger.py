"""What became of each alert, kept in the Dagster instance's key-value store.

Every alert has a record (its message, and per destination: delivered, tries so far, the time
of the next try, or dropped), written right after each attempt to send it, and read before
sending: so a sensor tick that runs again after a daemon restart, or after a crash between
the send and the tick's cursor being stored, sends nothing twice. The same store holds the
tenant's rate-limit window and the run alerts still waiting for a retry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import dagster as dg

from etl.alerts.base import AlertMessage

PREFIX: Final = "etl.alerts"
MAX_PENDING_RUNS: Final = 100


@dataclass
class Delivery:
    """One alert and what happened to it at each destination (by destination id)."""

    message: AlertMessage
    done: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)
    tries: dict[str, int] = field(default_factory=dict)
    next_at: dict[str, float] = field(default_factory=dict)
    suppressed: bool = False

    def settled(self, destinations: Iterable[str]) -> bool:
        """Nothing left to try: suppressed, or every destination delivered or dropped."""
        return self.suppressed or all(d in self.done or d in self.dropped for d in destinations)

    def to_json(self) -> str:
        return json.dumps({"message": self.message.to_json(), "done": sorted(self.done),
                           "dropped": sorted(self.dropped), "tries": self.tries,
                           "next_at": self.next_at, "suppressed": self.suppressed})

    @classmethod
    def from_json(cls, text: str) -> Delivery:
        data = json.loads(text)
        return cls(AlertMessage.from_json(data["message"]), set(data["done"]),
                   set(data["dropped"]), dict(data["tries"]), dict(data["next_at"]),
                   bool(data["suppressed"]))


@dataclass
class Window:
    """The tenant's current rate-limit hour: when it began, alerts sent and suppressed."""

    start: float
    sent: int = 0
    suppressed: int = 0
    summary: str | None = None  # the key of a suppression summary not yet delivered


class Ledger:
    """One tenant's alert records in the instance's key-value store."""

    def __init__(self, instance: dg.DagsterInstance, tenant: str) -> None:
        self.storage = instance.run_storage
        self.prefix = f"{PREFIX}.{tenant}"

    def get(self, keys: Iterable[str]) -> dict[str, Delivery]:
        names = {f"{self.prefix}.event.{k}": k for k in keys}
        found = self.storage.get_cursor_values(set(names)) if names else {}
        return {names[name]: Delivery.from_json(text) for name, text in found.items()}

    def put(self, delivery: Delivery) -> None:
        self.storage.set_cursor_values(
            {f"{self.prefix}.event.{delivery.message.key}": delivery.to_json()})

    def window(self) -> Window | None:
        text = self.storage.get_cursor_values({f"{self.prefix}.window"}).get(
            f"{self.prefix}.window")
        return Window(**json.loads(text)) if text else None

    def put_window(self, window: Window) -> None:
        self.storage.set_cursor_values({f"{self.prefix}.window": json.dumps(window.__dict__)})

    def pending_runs(self) -> list[str]:
        text = self.storage.get_cursor_values({f"{self.prefix}.pending_runs"}).get(
            f"{self.prefix}.pending_runs")
        return list(json.loads(text)) if text else []

    def put_pending_runs(self, keys: list[str]) -> None:
        kept = list(dict.fromkeys(keys))[-MAX_PENDING_RUNS:]
        self.storage.set_cursor_values({f"{self.prefix}.pending_runs": json.dumps(kept)})
