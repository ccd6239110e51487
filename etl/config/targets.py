"""No two tenants write to the same place: warehouse schema, lake folder or warehouse file.

A tenant's tables live in ``warehouse.target(tenant)`` and its files under
``<storage.root>/<tenant>``. Two tenants sharing a schema replace each other's rows; two lake
folders that are equal or nested mix their files; a warehouse file (DuckDB's) inside a lake
folder is taken for one of its Parquet files by the lake's readers. Places are compared in
normal form: local paths with links resolved, S3 lakes by store (:func:`normal_endpoint`),
bucket and keys. Each tenant's own code location checks this
against its siblings' configs (reading only their ``storage`` and ``warehouse`` blocks), so a
newcomer cannot take another tenant's schema just because nobody loads ``etl.all``.

Who holds a target: a schema named like a tenant belongs to that tenant, and a lake folder
belongs to the tenant whose folder contains the other's. The error goes to the other one and
names both; when neither holds it (two tenants choosing the same third name), both get it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from etl import naming
from etl.config.storage import StorageConfig, normal_endpoint
from etl.config.yaml_lines import PathKey, YamlError, decode, parse_yaml, read_limited
from etl.model.env_vars import other_tenants_message, owner
from etl.utils.safe_paths import own_folder
from etl.warehouse.base import WarehouseConfigBase
from etl.warehouse.registry import WarehouseConfig

# A top-level ``storage:`` or ``warehouse:`` key and its indented (or blank/comment) lines.
_TOP_BLOCK = re.compile(r"^(?:storage|warehouse)[ \t]*:.*\n?(?:(?:[ \t#].*|)\n?)*", re.MULTILINE)
_WHOLE_FILE_BYTES = 65_536
SCHEMA_FIELD = ("warehouse", "schema_name")
ROOT_FIELD = ("storage", "root")


@dataclass(frozen=True)
class Targets:
    """Where one tenant writes: its warehouse target and its lake folder."""

    tenant: str
    warehouse: tuple[str, ...]
    schema: str
    warehouse_text: str
    lake: tuple[str, ...]
    lake_text: str
    variables: tuple[tuple[PathKey, str], ...] = ()
    """The environment variables its config names, and where (siblings: none read)."""
    files: tuple[tuple[str, Path], ...] = ()
    """The warehouse's files on this machine, by the ``warehouse:`` field naming each."""

    @classmethod
    def of(cls, tenant: str, storage: StorageConfig, warehouse: WarehouseConfigBase,
           variables: Iterable[tuple[PathKey, str]] = ()) -> Targets:
        lake, text = _lake_folder(tenant, storage)
        return cls(tenant, warehouse.target(tenant), warehouse.schema_for(tenant),
                   warehouse.describe(tenant), lake, text, tuple(variables),
                   tuple(warehouse.local_files().items()))

    @property
    def holds_schema(self) -> bool:
        return self.schema == self.tenant


@dataclass(frozen=True)
class Clash:
    """A place a tenant may not write to; ``at`` is the field to change, ``message`` why."""

    at: PathKey
    message: str


def clashes(own: Targets, others: Iterable[Targets]) -> list[Clash]:
    """What ``own`` shares with another tenant that the other one holds (or nobody does)."""
    found = [Clash(("warehouse", field), (
        f"tenant {own.tenant!r} would keep its warehouse file {path} inside its own lake folder "
        f"{own.lake_text}, where readers of its tables would take it for one of their files: "
        f"give warehouse.{field} a place outside every tenant's lake folder"))
        for field, path in own.files if _inside(path, own.lake)]
    for other in others:
        if other.tenant == own.tenant:
            continue
        if other.warehouse == own.warehouse and not own.holds_schema:
            found.append(Clash(SCHEMA_FIELD, (
                f"tenant {own.tenant!r} would write to {own.warehouse_text}, where tenant "
                f"{other.tenant!r} already keeps its tables; their tables would replace each "
                "other's rows: set a warehouse.schema_name of its own")))
        if own.lake[: len(other.lake)] == other.lake:
            where = "the same lake folder as" if own.lake == other.lake else (
                "a folder inside the lake folder of")
            found.append(Clash(ROOT_FIELD, (  # the other's path is its config's: not shown
                f"tenant {own.tenant!r} would write its files to {own.lake_text}, {where} "
                f"tenant {other.tenant!r}; their files would mix: give storage.root a location "
                "of its own")))
        found += [Clash(("warehouse", field), (
            f"tenant {own.tenant!r} would keep its warehouse file {path} inside the lake folder "
            f"of tenant {other.tenant!r}, whose readers would take it for one of their files "
            f"and fail: give warehouse.{field} a place outside every tenant's lake folder"))
            for field, path in own.files if _inside(path, other.lake)]
    return found


def _inside(path: Path, lake: tuple[str, ...]) -> bool:
    """Whether a local file is in a (local) lake folder, both resolved."""
    return lake[:1] == ("file",) and path.parts[: len(lake) - 1] == lake[1:]


def foreign_variables(own: Targets, tenants: Iterable[str]) -> list[Clash]:
    """Variables of ``own`` that a tenant with a longer id prefix holds (``PROJECT_01_X``
    is ``project_01``'s, not ``project``'s; see :mod:`etl.model.env_vars`)."""
    names = [own.tenant, *tenants]
    return [Clash(at, other_tenants_message(variable, own.tenant, holder))
            for at, variable in own.variables
            if (holder := owner(variable, names)) is not None and holder != own.tenant]


def sibling_targets(folders: Iterable[Path], config_name: str) -> Iterator[Targets]:
    """The targets of other tenants, from their ``storage`` and ``warehouse`` blocks alone.

    Only those two top-level blocks are parsed (a sibling's file may be long, or hostile), with
    the whole file as the fallback for a small file laid out unusually. A sibling whose blocks
    cannot be read is skipped: its own location reports that, and it writes nowhere until then.
    """
    for folder in folders:
        try:
            # Only a file really in the sibling's folder: a link out of it is not read at all.
            raw = read_limited(folder / config_name, own_folder(folder.parent, folder.name))
            data = _storage_and_warehouse(raw)
            if data is None:
                continue
            storage = StorageConfig.model_validate(data.get("storage"))
            warehouse = _warehouse_adapter().validate_python(data.get("warehouse"))
        except (OSError, YamlError, ValidationError):
            continue
        yield Targets.of(folder.name, storage, warehouse)


def _storage_and_warehouse(raw: bytes) -> dict[str, Any] | None:
    text = decode(raw)
    blocks = "".join(m.group(0) for m in _TOP_BLOCK.finditer(text))
    for candidate in (blocks, text if len(raw) <= _WHOLE_FILE_BYTES else ""):
        try:
            data, _ = parse_yaml(candidate)
        except YamlError:
            continue
        if isinstance(data, dict) and {"storage", "warehouse"} <= data.keys():
            return data
    return None


@cache
def _warehouse_adapter() -> TypeAdapter[WarehouseConfigBase]:
    return TypeAdapter(WarehouseConfig)


def _block(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else None


def _lake_folder(tenant: str, storage: StorageConfig) -> tuple[tuple[str, ...], str]:
    """The tenant's lake folder as comparable parts (store, bucket, keys) and as text."""
    prefix = naming.lake_prefix(tenant)
    if storage.is_s3:
        endpoint = normal_endpoint(storage.endpoint_url)
        keys = [p for p in storage.root.removeprefix("s3://").split("/") if p not in ("", ".")]
        text = f"s3://{'/'.join([*keys, prefix])}"
        return ("s3", endpoint, *keys, prefix), text
    folder = (Path(storage.root) / prefix).resolve()  # links too: two names, one folder
    return ("file", *folder.parts), str(folder)
