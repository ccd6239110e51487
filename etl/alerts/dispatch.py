"""Delivering a tenant's alerts: once per event and destination, retried, rate-limited.

An alert is sent to every destination that takes its event. Before sending, its record
(:mod:`etl.alerts.ledger`) says which destinations already have it; right after each attempt
the record is written. A destination that fails (down, timing out, refusing) is tried again
on a later tick, waiting 30 s, then twice as long each time up to 30 min, until
``alerts.max_attempts`` tries; then the alert is dropped for it, with an error in the sensor's
log. Nothing here ever fails a run: the sensors only observe.

At most ``alerts.max_per_hour`` alerts are sent per tenant and hour (a window that starts
with its first alert); the rest are counted and, once the hour is over, one message says how
many were suppressed. A tick spends at most :data:`TICK_BUDGET_S` seconds sending, so it ends
well within the sensor's time limit; what it did not reach waits for the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, Protocol

import dagster as dg

from etl.alerts.base import DEFAULT_TIMEOUT_S, SUPPRESSED, AlertMessage, DeliveryError
from etl.alerts.ledger import Delivery, Ledger, Window
from etl.utils.logging import redact

if TYPE_CHECKING:
    from etl.alerts.base import DestinationConfig


class AlertPolicy(Protocol):
    """What delivery reads of a tenant's ``alerts:`` block (the config model lives above this
    package, in :mod:`etl.config.alerts`, which builds its union from this package's kinds)."""

    @property
    def destinations(self) -> Sequence[DestinationConfig]: ...
    @property
    def max_per_hour(self) -> int: ...
    @property
    def max_attempts(self) -> int: ...

WINDOW_S: Final = 3600.0
FIRST_RETRY_S: Final = 30.0
LONGEST_RETRY_S: Final = 1800.0
TICK_BUDGET_S: Final = 35.0


def retry_delay(tries: int) -> float:
    """The wait after the ``tries``-th failed attempt."""
    return float(min(FIRST_RETRY_S * 2.0 ** (tries - 1), LONGEST_RETRY_S))


class Alerter:
    """Sends one tenant's alerts from inside a sensor tick."""

    def __init__(self, instance: dg.DagsterInstance, tenant: str, config: AlertPolicy,
                 log: logging.Logger | None = None, secrets: Sequence[str] = (),
                 clock: Callable[[], float] = time.time) -> None:
        self.ledger = Ledger(instance, tenant)
        self.tenant = tenant
        self.config = config
        self.log = log
        self.clock = clock
        self.started = time.monotonic()
        self.secrets = [*secrets, *(s for d in config.destinations for s in d.secrets())]

    def destinations(self, event: str) -> dict[str, DestinationConfig]:
        """The destinations taking ``event``, by id (``<index>.<type>``)."""
        return {f"{i}.{d.type}": d for i, d in enumerate(self.config.destinations)
                if d.wants(event)}

    def deliver(self, message: AlertMessage) -> bool:
        """Send a new alert (unless sent before or over the hour's limit); True when settled."""
        self.flush_summary()
        record = self.ledger.get([message.key]).get(message.key)
        if record is None:
            record = Delivery(message, suppressed=not self._admit())
            self.ledger.put(record)
            if record.suppressed:
                self._say("warning", f"{message.title}: not sent, over alerts.max_per_hour "
                                     f"({self.config.max_per_hour}); counted for the summary")
                return True
        return self._attempt(record)

    def retry(self, keys: Sequence[str]) -> list[str]:
        """Try the unsettled alerts among ``keys`` again; the keys still unsettled."""
        left = []
        for key, record in self.ledger.get(keys).items():
            if not self._attempt(record):
                left.append(key)
        return left

    def remember_run(self, key: str) -> None:
        """A run alert that needs another try: the periodic sensor retries it."""
        pending = self.ledger.pending_runs()
        settled = self.ledger.get(pending)
        kept = [k for k in pending if k in settled and not settled[k].settled(
            self.destinations(settled[k].message.event))]
        self.ledger.put_pending_runs([*kept, key])

    def pending(self) -> list[str]:
        """Run alerts and a suppression summary still waiting for a try."""
        window = self.ledger.window()
        summary = [window.summary] if window is not None and window.summary else []
        return [*self.ledger.pending_runs(), *summary]

    def flush_summary(self) -> None:
        """Once a rate-limited hour is over, say how many alerts it suppressed."""
        window = self.ledger.window()
        now = self.clock()
        if window is None or window.suppressed == 0 or now - window.start < WINDOW_S:
            return
        since = dt.datetime.fromtimestamp(window.start, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        message = AlertMessage(
            SUPPRESSED, f"suppressed.{int(window.start)}", self.tenant,
            f"[{self.tenant}] {window.suppressed} more alert(s) suppressed",
            (f"In the hour from {since}, {window.suppressed} alert(s) were not sent: over "
             f"alerts.max_per_hour ({self.config.max_per_hour}). The Dagster UI lists the "
             "failed runs and checks.",),
            {"suppressed": window.suppressed, "since": since})
        record = Delivery(message)
        self.ledger.put(record)
        self.ledger.put_window(Window(start=now, sent=1, summary=message.key))
        self._attempt(record)

    def _admit(self) -> bool:
        """Count an alert against the hour's limit: False when it must be suppressed."""
        now = self.clock()
        window = self.ledger.window()
        if window is None or now - window.start >= WINDOW_S:
            window = Window(start=now, summary=window.summary if window else None)
        admitted = window.sent < self.config.max_per_hour
        if admitted:
            window.sent += 1
        else:
            window.suppressed += 1
        self.ledger.put_window(window)
        return admitted

    def _attempt(self, record: Delivery) -> bool:
        """Send to each destination still owed the alert and due; write the record after each."""
        message, now = record.message, self.clock()
        targets = self.destinations(message.event)
        for target, destination in targets.items():
            if (record.suppressed or target in record.done or target in record.dropped
                    or record.next_at.get(target, 0) > now):
                continue
            if time.monotonic() - self.started > TICK_BUDGET_S:
                break  # the next tick goes on from here
            try:
                destination.send(message, DEFAULT_TIMEOUT_S)
            except DeliveryError as error:
                self._failed(record, target, destination, error)
            else:
                record.done.add(target)
                self._say("info", f"{message.title}: sent to {destination.label()}")
            self.ledger.put(record)
        return record.settled(targets)

    def _failed(self, record: Delivery, target: str, destination: DestinationConfig,
                error: DeliveryError) -> None:
        tries = record.tries.get(target, 0) + 1
        record.tries[target] = tries
        title, limit = record.message.title, self.config.max_attempts
        if tries >= limit:
            record.dropped.add(target)
            self._say("error", f"{title}: dropped for {destination.label()} after {tries} "
                               f"failed tries (alerts.max_attempts): {error}")
            return
        delay = retry_delay(tries)
        record.next_at[target] = self.clock() + delay
        self._say("warning", f"{title}: not sent to {destination.label()} (try {tries} of "
                             f"{limit}; next in {delay:.0f} s): {error}")

    def _say(self, level: str, text: str) -> None:
        if self.log is not None:
            getattr(self.log, level)(redact(text, self.secrets))
