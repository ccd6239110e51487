"""``workspace.yaml`` of a deployment: one gRPC code server per tenant, by port."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def workspace_config(ports: Mapping[str, int], host: str) -> dict[str, Any]:
    """``tenant -> port`` as the grpc_server entries the webserver and the daemon load."""
    return {"load_from": [
        {"grpc_server": {"host": host, "port": port, "location_name": tenant}}
        for tenant, port in sorted(ports.items())
    ]}
