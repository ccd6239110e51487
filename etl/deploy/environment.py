"""Which environment each process of a deployment sees.

A tenant's code server, and the runs it launches (they inherit its environment), get the
machine's plain settings and only the variables that tenant's config names in its ``*_env``
fields, which must be its own (``<TENANT>_*``, see :mod:`etl.model.env_vars`), plus those of
its own env file (``<env-dir>/<tenant>.env``). So one tenant's transfer code cannot read
another tenant's database password: it is not in its process at all, and no config can ask for
it. The daemon and the webserver get no tenant secret, only the instance's connection
variables.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from etl.config.tenant_config import TenantConfig
from etl.deploy.settings import PG_ENV
from etl.errors import UsageError
from etl.model.env_vars import belongs_to, env_names
from etl.runs.launch import CodeLocation
from etl.utils.safe_paths import LinkError, open_inside, own_folder

# Plain settings every process needs; nothing here holds a secret.
BASE_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
            "PYTHONPATH", "VIRTUAL_ENV", "ETL_TENANTS_DIR", "ARROW_DEFAULT_MEMORY_POOL",
            "AWS_REGION", "AWS_DEFAULT_REGION")


def tenant_variables(config: TenantConfig, others: Iterable[str] = ()) -> list[str]:
    """The environment variables a tenant's config names (its secrets and URLs), sorted; only
    its own, whatever the config says (``others``: the other tenants, whose longer ids may
    hold some of its prefix)."""
    tenant = config.tenant.id
    return [v for v in env_names(config) if belongs_to(v, tenant, others)]


def service_env(home: Path, source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the daemon and the webserver: plain settings and the instance's."""
    env = dict(source if source is not None else os.environ)
    keep = {k: env[k] for k in (*BASE_ENV, *PG_ENV) if k in env}
    return {**keep, "DAGSTER_HOME": str(home)}


def tenant_env(home: Path, config: TenantConfig, env_dir: Path | None = None,
               source: Mapping[str, str] | None = None,
               others: Iterable[str] = ()) -> dict[str, str]:
    """The environment of one tenant's code server (and so of its runs)."""
    env = dict(source if source is not None else os.environ)
    own = {k: env[k] for k in tenant_variables(config, others) if k in env}
    own.update(CodeLocation.of_tenant(config.tenant.id).env)
    if env_dir is not None:
        own.update(env_file(env_dir, config.tenant.id))
    return {**service_env(home, env), **own}


def env_file(env_dir: Path, tenant: str) -> dict[str, str]:
    """The variables of ``<env-dir>/<tenant>.env``, if there is one; the file must be itself,
    not a link (to another tenant's file, or anywhere)."""
    import io

    from dotenv import dotenv_values

    name = f"{tenant}.env"
    file = env_dir / name
    if not file.exists() and not file.is_symlink():
        return {}
    try:
        with open_inside(file, own_folder(env_dir, name)) as raw:
            values = dotenv_values(stream=io.TextIOWrapper(raw, encoding="utf-8"))
    except OSError as e:
        detail = e.detail if isinstance(e, LinkError) else f"cannot be read: {e.strerror}"
        raise UsageError(f"the env file {file} of tenant {tenant!r} {detail}") from None
    return {k: v for k, v in values.items() if v is not None}
