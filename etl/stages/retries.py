"""Which failures are worth another try, and trying again with exponential backoff and jitter.

A stage retries a failure only when it is transient: the source, S3 or Trino was unreachable,
reset the connection, timed out, throttled or answered 5xx. A wrong password, a missing table
or column and bad SQL fail at once, since no retry can fix them, and the message says why.
Errors here are often our own ``SourceError``/``WarehouseError`` sentences (drivers' chains are
cut so no secret leaks), so the decision reads the message as well as the exception types.
Which messages are which is each backend's knowledge: source dialects, warehouse kinds and the
lake storage declare their ``transient_errors`` and ``permanent_errors``, read from the
registries here.
"""

from __future__ import annotations

import random
import re
import socket
import threading
from collections.abc import Callable, Iterator
from functools import cache
from typing import TypeVar

from etl.config.runs import RetryConfig

T = TypeVar("T")

# What any backend may say when the network or the server's load is at fault; each source
# dialect, warehouse kind and the lake storage add their own (the ``*_errors`` they declare).
_NETWORK_TRANSIENT = (
    r"connection refused", r"connection reset", r"cannot reach", r"cannot connect",
    r"broken pipe", r"timed? ?out", r"timeout", r"temporarily unavailable",
    r"connection .*closed",
)
# Our own sentences for what no retry fixes (values that do not fit, a clashing column, a bad
# identifier, a missing input, a dialect without a scanner), and any backend's refusals.
_FRAMEWORK_PERMANENT = (
    r"authentication", r"syntax error", r"permission denied", r"do not fit",
    r"reserved for the day", r"schema_drift", r"incompatible type change",
    r"not a plain identifier", r"no \w+ output for", r"has no scanner",
    r"transfer\.(timeout_s|memory_limit|max_temp_size)",  # a limit, not the network
    r"warehouse\.memory_limit",
)
_TRANSIENT_TYPES = (ConnectionError, TimeoutError, socket.timeout)


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(permanent, transient), from this module's lists and every registered backend's."""
    from etl.resources.s3 import TRANSIENT_ERRORS as STORAGE_TRANSIENT
    from etl.sources.dialects.registry import DIALECTS, GENERIC
    from etl.warehouse.registry import WAREHOUSE_KINDS

    declared = [(d.permanent_errors, d.transient_errors) for d in (*DIALECTS, GENERIC)]
    declared += [(k.permanent_errors, k.transient_errors) for k in WAREHOUSE_KINDS]
    permanent = [*_FRAMEWORK_PERMANENT, *(p for perm, _ in declared for p in perm)]
    transient = [*_NETWORK_TRANSIENT, *STORAGE_TRANSIENT, *(p for _, t in declared for p in t)]
    return (re.compile("|".join(dict.fromkeys(permanent)), re.IGNORECASE),
            re.compile("|".join(dict.fromkeys(transient)), re.IGNORECASE))


def is_transient(error: BaseException) -> bool:
    """Whether another try could succeed (see the module docstring for the rules)."""
    permanent, transient = _patterns()
    if any(permanent.search(str(link)) for link in _chain(error)):
        return False  # a connection that is refused for a wrong password stays refused
    return any(isinstance(link, _TRANSIENT_TYPES) or transient.search(str(link))
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
