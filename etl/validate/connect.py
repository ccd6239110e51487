"""``etl validate --connect``: reach every tenant's source, lake and warehouse at once.

Tenants are probed side by side (each probe waits at most the timeout per connection), and
every problem is kept, so one run reports all of them. Secrets are read from the environment,
as a run reads them, and masked out of every message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from etl.config.config_loader import LoadedTenant
from etl.config.tenant_config import TenantConfig
from etl.model.base import FieldProblem
from etl.utils.logging import redact
from etl.validate.source_probe import probe_source
from etl.validate.storage_probe import probe_storage
from etl.warehouse.base import LoadMode

MAX_PARALLEL = 8


def probe_tenants(tenants: Sequence[LoadedTenant], timeout_s: float) -> dict[str, list[str]]:
    """Problems (rendered, with file:line) by tenant; an empty list is a tenant that answered."""
    if not tenants:
        return {}
    with ThreadPoolExecutor(min(MAX_PARALLEL, len(tenants))) as pool:
        found = pool.map(lambda t: probe_tenant(t, timeout_s), tenants)
        return {t.tenant_id: problems for t, problems in zip(tenants, found, strict=True)}


def probe_tenant(loaded: LoadedTenant, timeout_s: float) -> list[str]:
    config = loaded.config
    probes: list[tuple[str, Callable[[], list[FieldProblem]]]] = [
        ("source", lambda: probe_source(config, timeout_s)),
        ("storage", lambda: probe_storage(config.storage, timeout_s)),
        ("warehouse", lambda: config.warehouse.probe(loaded.tenant_id, _load_modes(config),
                                                     timeout_s)),
    ]
    problems: list[str] = []
    for part, probe in probes:
        try:
            found = probe()
        except Exception as e:  # a probe's own surprise must not hide the other tenants'
            found = [FieldProblem((part,), redact(
                f"checking the {part} failed: {type(e).__name__}: {e}"))]
        problems += [loaded.issue(p.at, p.message).render() for p in found]
    return problems


def _load_modes(config: TenantConfig) -> frozenset[LoadMode | None]:
    """The modes the tenant's loads use; None stands for the warehouse's default."""
    return frozenset(p.load_mode for p in config.assets.enabled if p.save_to_trino)
