"""Which tenants exist: the folders under ``etl/tenants/`` that hold a ``config.yaml``."""

from __future__ import annotations

from pathlib import Path

from etl.config.config_loader import tenant_folders


def discover_tenants(tenants_dir: Path | None = None) -> list[str]:
    """Tenant ids: folders with a config.yaml, except ``_``/``.``-prefixed ones (the template)."""
    return [folder.name for folder in tenant_folders(tenants_dir)]
