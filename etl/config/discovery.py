"""Which tenants exist: the folders under ``etl/tenants/`` that hold a ``config.yaml``."""

from __future__ import annotations

from pathlib import Path

from etl.config.config_loader import CONFIG_FILE_NAME, tenants_root


def discover_tenants(tenants_dir: Path | None = None) -> list[str]:
    """Tenant ids: folders with a config.yaml, except ``_``/``.``-prefixed ones (the template)."""
    root = tenants_root(tenants_dir)
    return sorted(
        p.name for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / CONFIG_FILE_NAME).is_file()
    )
