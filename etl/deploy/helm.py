"""Values for Dagster's official Helm charts (``dagster/dagster``): one user-code deployment
per tenant, the Kubernetes run launcher, an external PostgreSQL and the run queue's limits.

The mapping: a tenant is a user-code deployment (``dagsterApiGrpcArgs: ["-m",
"etl.<tenant>"]``), its run-queue key (the ``tenant`` and ``dagster/code_location`` tags) and
its own Kubernetes secret, which holds exactly the variables its config names; runs inherit
that secret from their deployment (``includeConfigInLaunchedRuns``), so no pod of one tenant
ever holds another tenant's credentials.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from etl.config.runs import RunsConfig
from etl.config.tenant_config import TenantConfig
from etl.deploy.environment import tenant_variables
from etl.deploy.instance import tag_limits
from etl.deploy.settings import DeploymentSettings
from etl.runs.launch import CodeLocation

GRPC_PORT = 3030
_K8S_NAME = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class ClusterSettings:
    """What the cluster side names: the image and the external PostgreSQL."""

    image_repository: str
    image_tag: str
    postgresql_host: str
    postgresql_user: str = "dagster"
    postgresql_database: str = "dagster"
    postgresql_port: int = 5432
    postgresql_secret: str = "dagster-postgresql-secret"
    tenant_secret_prefix: str = "etl-tenant-"


def k8s_name(tenant: str) -> str:
    """A DNS-1123 name for a tenant id (``project_01`` -> ``project-01``)."""
    return _K8S_NAME.sub("-", tenant.lower()).strip("-")[:63]


def tenant_secret(cluster: ClusterSettings, tenant: str) -> str:
    return f"{cluster.tenant_secret_prefix}{k8s_name(tenant)}"[:63]


def helm_values(tenants: Sequence[TenantConfig], settings: DeploymentSettings,
                cluster: ClusterSettings) -> dict[str, Any]:
    deployments = [_deployment(t.tenant.id, cluster) for t in tenants]
    return {
        "global": {"postgresqlSecretName": cluster.postgresql_secret},
        "generatePostgresqlPasswordSecret": False,
        "postgresql": {
            "enabled": False,
            "postgresqlHost": cluster.postgresql_host,
            "postgresqlUsername": cluster.postgresql_user,
            "postgresqlDatabase": cluster.postgresql_database,
            "postgresqlScheme": "postgresql+psycopg2",
            "service": {"port": cluster.postgresql_port},
        },
        "dagster-user-deployments": {"enabled": True, "deployments": deployments},
        "runLauncher": {"type": "K8sRunLauncher", "config": {"k8sRunLauncher": {
            "envSecrets": [],  # each run takes its own tenant's secret from its deployment
            "failPodOnRunFailure": True,
        }}},
        "dagsterDaemon": {
            "runCoordinator": {"enabled": True, "type": "QueuedRunCoordinator", "config": {
                # The queue's limits live here, not in a top-level `concurrency:` block: the
                # chart writes max_concurrent_runs into the run coordinator whenever its config
                # is set, and Dagster refuses both at once.
                "queuedRunCoordinator": {
                    "dequeueIntervalSeconds": settings.dequeue_interval_s,
                    "maxConcurrentRuns": settings.max_concurrent_runs,
                    "tagConcurrencyLimits": tag_limits(
                        tenants, {t.tenant.id: k8s_name(t.tenant.id) for t in tenants}),
                },
            }},
            "runMonitoring": {
                "enabled": True, "startTimeoutSeconds": settings.start_timeout_s,
                "pollIntervalSeconds": settings.monitor_interval_s,
                "freeSlotsAfterRunEndSeconds": settings.free_slots_after_s,
                "maxResumeRunAttempts": 0,
            },
            "runRetries": {"enabled": True, "maxRetries": RunsConfig().max_retries,
                           "retryOnAssetOrOpFailure": False},
        },
    }


def _deployment(tenant: str, cluster: ClusterSettings) -> dict[str, Any]:
    """A tenant's user-code deployment; its name is also its code location's name."""
    location = CodeLocation.of_tenant(tenant)
    deployment: dict[str, Any] = {
        "name": k8s_name(tenant),
        "image": {"repository": cluster.image_repository, "tag": cluster.image_tag,
                  "pullPolicy": "IfNotPresent"},
        "dagsterApiGrpcArgs": ["-m", location.module],
        "port": GRPC_PORT,
        "envSecrets": [{"name": tenant_secret(cluster, tenant)}],
        "includeConfigInLaunchedRuns": {"enabled": True},
        "labels": {"etl/tenant": k8s_name(tenant)},
    }
    if location.env:  # a tenant outside the package, served by etl.tenant_location
        deployment["env"] = [{"name": k, "value": v} for k, v in location.env]
    return deployment


def secret_keys(tenants: Sequence[TenantConfig], cluster: ClusterSettings) -> dict[str, list[str]]:
    """Each tenant secret's name and the keys it must hold: the variables its config names,
    which are all its own (``<TENANT>_*``); no tenant's secret lists another's variable."""
    ids = [t.tenant.id for t in tenants]
    return {tenant_secret(cluster, t.tenant.id): tenant_variables(t, ids) for t in tenants}
