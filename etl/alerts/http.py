"""POST a JSON document over HTTP(S) with the standard library, for the webhook kinds.

Redirects are not followed (a webhook that moved is a configuration to fix, and following one
would send the body somewhere else), the timeout covers connect and read, and an error never
carries the URL: for Slack and most webhooks the URL itself is the secret.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from etl.alerts.base import DeliveryError, delivery_error


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def host_of(url: str) -> str:
    """The URL's scheme and host, what a log may show of it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"


def post_json(url: str, body: Mapping[str, Any], headers: Mapping[str, str],
              timeout_s: float, what: str, secrets: Sequence[str]) -> None:
    """POST ``body`` as JSON; any answer but 2xx, or no answer in time, is a DeliveryError."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError(f"{what}: the URL is not http(s)")
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "etl-alerts", **headers})
    hidden = [url, *secrets]
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            response.read(65536)
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"{what}: answered HTTP {error.code}") from None
    except Exception as error:  # connection refused, timeout, TLS, DNS: all just "not sent"
        raise delivery_error(what, getattr(error, "reason", error), hidden) from None
