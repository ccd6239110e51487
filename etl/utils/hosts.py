"""One spelling per host, to tell whether two configs name the same server.

Tenants must not share a lake (an S3 store and bucket) or a warehouse schema; two configs that
spell one server differently (``127.1`` and ``localhost``, ``TRINO.internal.`` and
``trino.internal``) must compare equal, or the check that keeps tenants apart is bypassed.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Final

_LOOPBACK: Final = "localhost"


def normal_host(host: str) -> str:
    """A host name lower-cased without its trailing dot, an IP address in its one spelling
    (``127.1`` is ``127.0.0.1``), every loopback address as ``localhost``."""
    host = host.rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the forms inet_aton reads: 127.1, 0x7f.0.0.1, 2130706433
            address = ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            return _LOOPBACK if host == "localhost" else host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:
        return _LOOPBACK
    return address.compressed

