"""Dagster Components of the framework, for ``dg`` projects (``dg list components`` shows them).

Registered through the ``dagster_dg_cli.registry_modules`` entry point in ``pyproject.toml``.
"""

from etl.components.tenant import EtlTenant

__all__ = ["EtlTenant"]
