"""The environment variables a config names, and which tenant each belongs to.

Every config field ending in ``_env`` names a variable (a secret, or a whole URL). A tenant may
name only its own: those starting with its id in upper case and ``_`` (``PROJECT_01_*`` for
``project_01``), the convention the template follows. Otherwise one tenant's config could name
another's password and send it to a server it controls.

A prefix alone is ambiguous when one tenant id starts with another's (``project`` and
``project_01``): a variable belongs to the tenant with the longest matching prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Final

from pydantic import BaseModel

from etl.model.base import ENV_FIELD_SUFFIX

PathKey = tuple[str | int, ...]
EXAMPLE_SUFFIX: Final = "DB_PASSWORD"


def env_prefix(tenant: str) -> str:
    """What a tenant's variables start with: ``project_01`` -> ``PROJECT_01_``."""
    return f"{tenant.upper()}_"


def env_fields(model: BaseModel, path: PathKey = ()) -> Iterator[tuple[PathKey, str]]:
    """(path, variable) of every ``*_env`` field set in ``model``, at any depth: nested
    blocks, lists of pipelines and mappings of models included."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name.endswith(ENV_FIELD_SUFFIX) and isinstance(value, str):
            yield (*path, name), value
        else:
            yield from _nested(value, (*path, name))


def _nested(value: object, path: PathKey) -> Iterator[tuple[PathKey, str]]:
    if isinstance(value, BaseModel):
        yield from env_fields(value, path)
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from _nested(item, (*path, index))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield from _nested(item, (*path, key))


def env_names(model: BaseModel) -> list[str]:
    """The variables ``model`` names, sorted, each once."""
    return sorted({name for _, name in env_fields(model)})


def owner(variable: str, tenants: Iterable[str]) -> str | None:
    """The tenant ``variable`` belongs to: the longest prefix among ``tenants``, if any."""
    matching = [t for t in tenants if variable.startswith(env_prefix(t))]
    return max(matching, key=len, default=None)


def belongs_to(variable: str, tenant: str, others: Iterable[str] = ()) -> bool:
    """Whether ``variable`` is ``tenant``'s: its prefix, and no other tenant's longer one."""
    return owner(variable, [tenant, *others]) == tenant


def other_tenants_message(variable: str, tenant: str, holder: str) -> str:
    """What to say when a longer tenant id makes ``variable`` another tenant's."""
    return (f"names the environment variable {variable}, which starts with "
            f"{env_prefix(holder)} and so belongs to tenant {holder!r}, not to {tenant!r}; "
            f"name a variable that starts with {env_prefix(tenant)} but not with another "
            f"tenant's id (e.g. {env_prefix(tenant)}{EXAMPLE_SUFFIX})")
