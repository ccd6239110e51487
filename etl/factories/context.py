"""What every factory of one tenant shares: its config, partitions and tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from etl.config.tenant_config import TenantConfig


@dataclass(frozen=True)
class TenantContext:
    """What every pipeline of one tenant shares when its assets are built."""

    config: TenantConfig
    partitions_def: dg.PartitionsDefinition[str]
    tags: Mapping[str, str]

    @property
    def tenant(self) -> str:
        return self.config.tenant.id

    @property
    def warehouse_kind(self) -> str:
        return self.config.warehouse.asset_kind
