"""Which environment each process of a deployment sees.

A tenant's code server, and the runs it launches (they inherit its environment), get the
machine's plain settings and only the variables that tenant's config names in its ``*_env``
fields, plus those of its own env file (``<env-dir>/<tenant>.env``). So one tenant's transfer
code cannot read another tenant's database password: it is not in its process at all. The
daemon and the webserver get no tenant secret, only the instance's connection variables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import BaseModel

from etl.config.tenant_config import TenantConfig
from etl.deploy.settings import PG_ENV
from etl.model.base import ENV_FIELD_SUFFIX
from etl.runs.launch import CodeLocation

# Plain settings every process needs; nothing here holds a secret.
BASE_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
            "PYTHONPATH", "VIRTUAL_ENV", "ETL_TENANTS_DIR", "ARROW_DEFAULT_MEMORY_POOL",
            "AWS_REGION", "AWS_DEFAULT_REGION")


def tenant_variables(config: TenantConfig) -> list[str]:
    """The environment variables a tenant's config names (its secrets and URLs), sorted."""
    return sorted(set(_names(config)))


def _names(model: BaseModel) -> Iterator[str]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name.endswith(ENV_FIELD_SUFFIX) and isinstance(value, str):
            yield value
        else:  # nested blocks, and lists of them (pipelines, alert destinations)
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, BaseModel):
                    yield from _names(item)


def service_env(home: Path, source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the daemon and the webserver: plain settings and the instance's."""
    env = dict(source if source is not None else os.environ)
    keep = {k: env[k] for k in (*BASE_ENV, *PG_ENV) if k in env}
    return {**keep, "DAGSTER_HOME": str(home)}


def tenant_env(home: Path, config: TenantConfig, env_dir: Path | None = None,
               source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of one tenant's code server (and so of its runs)."""
    env = dict(source if source is not None else os.environ)
    own = {k: env[k] for k in tenant_variables(config) if k in env}
    own.update(CodeLocation.of_tenant(config.tenant.id).env)
    file = env_dir / f"{config.tenant.id}.env" if env_dir is not None else None
    if file is not None and file.is_file():
        from dotenv import dotenv_values

        own.update({k: v for k, v in dotenv_values(file).items() if v is not None})
    return {**service_env(home, env), **own}
