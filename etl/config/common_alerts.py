"""Alert defaults every tenant inherits: ``etl/common/alerts.yaml``, optional.

The file holds one ``alerts:`` block, written like a tenant's. A tenant's own ``alerts:`` keys
replace the common ones key by key (``destinations`` as a whole list; ``enabled: false`` turns
inherited alerts off for that tenant). Every tenant names only its own environment variables,
so a common destination writes ``{TENANT}`` in its ``*_env`` values, e.g.
``url_env: "{TENANT}_SLACK_WEBHOOK_URL"``, which becomes ``PROJECT_01_SLACK_WEBHOOK_URL`` for
tenant ``project_01``: each tenant's code server holds its own copy of the secret.
"""

from __future__ import annotations

from typing import Any, Final

from etl.config.errors import ConfigIssue
from etl.config.issues import issue_at
from etl.config.yaml_lines import YamlDocument
from etl.model.base import ENV_FIELD_SUFFIX

ALERTS_KEY: Final = "alerts"
TENANT_PLACEHOLDER: Final = "{TENANT}"


def common_alerts_issues(doc: YamlDocument) -> list[ConfigIssue]:
    """What is wrong with the file's shape (its block is checked with each tenant)."""
    data = doc.data
    if data is None:
        return []
    if not isinstance(data, dict):
        return [issue_at(doc, (), "expected a mapping with one key, alerts")]
    return [issue_at(doc, (key,), f"unknown field {key!r}; this file holds only 'alerts'")
            for key in data if key != ALERTS_KEY]


def merge_alerts(data: dict[str, Any], common: YamlDocument | None,
                 tenant: str) -> dict[str, Any]:
    """``data`` with the common alert defaults under the tenant's own ``alerts:`` keys."""
    base = common.data.get(ALERTS_KEY) if common is not None and isinstance(
        common.data, dict) else None
    own = data.get(ALERTS_KEY)
    if not isinstance(base, dict) or (own is not None and not isinstance(own, dict)):
        return data
    return {**data, ALERTS_KEY: {**_for_tenant(base, tenant), **(own or {})}}


def _for_tenant(value: Any, tenant: str, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _for_tenant(v, tenant, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_for_tenant(v, tenant) for v in value]
    if isinstance(value, str) and key.endswith(ENV_FIELD_SUFFIX):
        return value.replace(TENANT_PLACEHOLDER, tenant.upper())
    return value
