"""Which failures are worth another try, and trying again with exponential backoff and jitter.

A stage retries a failure only when it is transient: the source, S3 or Trino was unreachable,
reset the connection, timed out, throttled or answered 5xx. A wrong password, a missing table
or column and bad SQL fail at once, since no retry can fix them, and the message says why.
Errors here are often our own ``SourceError``/``WarehouseError`` sentences (drivers' chains are
cut so no secret leaks), so the decision reads the message as well as the exception types.
"""

from __future__ import annotations

import random
import re
import socket
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from etl.config.runs import RetryConfig

T = TypeVar("T")

_PERMANENT = re.compile("|".join((
    r"password authentication failed", r"access denied", r"authentication", r"does not exist",
    r"syntax error", r"permission denied", r"unknown (column|table|database)",
    r"no such (table|column|file)", r"refused the request", r"do not fit",
    r"reserved for the day", r"schema_drift", r"incompatible type change",
    r"not a plain identifier", r"no \w+ output for", r"has no scanner",
)), re.IGNORECASE)
_TRANSIENT = re.compile("|".join((
    r"connection refused", r"connection reset", r"could not connect", r"cannot reach",
    r"cannot connect", r"server closed the connection", r"lost connection", r"broken pipe",
    r"timed? ?out", r"timeout", r"temporarily unavailable", r"too many connections",
    r"the database system is (starting up|shutting down|in recovery)",
    r"terminating connection due to administrator command", r"connection .*closed",
    r"can't connect to (mysql|mariadb)", r"server has gone away",
    r"slow[ _]?down", r"throttl", r"service[ _]?unavailable", r"internal[ _]?error",
    r"http status 5\d\d",
    r"\b50[234]\b", r"server_starting_up", r"network_connection", r"curlcode",
)), re.IGNORECASE)
_TRANSIENT_TYPES = (ConnectionError, TimeoutError, socket.timeout)


def is_transient(error: BaseException) -> bool:
    """Whether another try could succeed (see the module docstring for the rules)."""
    if any(_PERMANENT.search(str(link)) for link in _chain(error)):
        return False  # a connection that is refused for a wrong password stays refused
    return any(isinstance(link, _TRANSIENT_TYPES) or _TRANSIENT.search(str(link))
               for link in _chain(error))


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def backoff(policy: RetryConfig, attempt: int) -> float:
    """The wait after failed try number ``attempt``: doubling, capped, half of it random."""
    ceiling = min(policy.max_delay_s, policy.initial_delay_s * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def retrying(call: Callable[[], T], policy: RetryConfig, what: str,
             log: Callable[[str], None], stop: threading.Event | None = None) -> T:
    """``call()``, tried again after a transient failure, up to ``policy.attempts`` tries."""
    attempt = 1
    while True:
        try:
            return call()
        except Exception as error:
            if not should_retry(error, attempt, policy, stop):
                raise
            wait_before_retry(error, attempt, policy, what, log, stop)
            attempt += 1


def should_retry(error: BaseException, attempt: int, policy: RetryConfig,
                 stop: threading.Event | None) -> bool:
    stopped = stop is not None and stop.is_set()
    return attempt < policy.attempts and not stopped and is_transient(error)


def wait_before_retry(error: BaseException, attempt: int, policy: RetryConfig, what: str,
                      log: Callable[[str], None], stop: threading.Event | None) -> None:
    delay = backoff(policy, attempt)
    cause = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
    log(f"{what}: transient failure ({cause}); try {attempt + 1} of {policy.attempts} "
        f"in {delay:.1f}s")
    if stop is not None:
        stop.wait(delay)
    else:
        threading.Event().wait(delay)
