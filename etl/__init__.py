"""Multi-tenant ETL on Dagster: each tenant folder becomes assets, jobs and schedules.

``build_tenant_definitions("project_01")`` builds one tenant's code location and
``build_all_definitions()`` every tenant's; nothing is built or read at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

# Arrow takes its default allocator from this variable when pyarrow is first imported: jemalloc
# returns freed batch memory sooner than the default (mimalloc), lowering an extraction's peak
# RSS (see etl/utils/arrow_memory.py). An operator's own setting wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

if TYPE_CHECKING:
    import dagster as dg

__all__ = ["build_all_definitions", "build_tenant_definitions"]


def build_tenant_definitions(tenant_id: str, tenants_dir: Path | None = None) -> dg.Definitions:
    from etl.factories.definitions_factory import build_tenant_definitions as build

    return build(tenant_id, tenants_dir)


def build_all_definitions(tenants_dir: Path | None = None,
                          only: list[str] | None = None) -> dg.Definitions:
    from etl.factories.definitions_factory import build_all_definitions as build

    return build(tenants_dir, only=only)
