"""Resources for one tenant, built from its config models.

Secrets are ``dg.EnvVar`` values, so nothing is read from the environment at load time; the
warehouse resource comes from the tenant's warehouse kind (:mod:`etl.warehouse.registry`).
"""

from __future__ import annotations

import dagster as dg

from etl import naming
from etl.config.tenant_config import TenantConfig
from etl.resources.rdb import SourceDatabaseResource
from etl.resources.s3 import StorageResource


def build_resources(config: TenantConfig) -> dict[str, dg.ConfigurableResource]:  # type: ignore[type-arg]
    tenant = config.tenant.id
    return {
        naming.resource_key(tenant, "source"): SourceDatabaseResource.from_config(
            config.source, config.schedule.timezone
        ),
        naming.resource_key(tenant, "storage"): StorageResource.from_config(config.storage),
        naming.resource_key(tenant, "warehouse"): config.warehouse.build_resource(tenant),
    }
