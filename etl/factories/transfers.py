"""Resolve each pipeline's transfer reference to the function that runs it.

Tenant code is a narrow typed hook: config names a function (``tenant:<name>``) that must exist
in the tenant's ``assets/transfer.py``; anything else fails at load with the file and line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from etl.common.transfer import COMMON_TRANSFERS, TransferFunction
from etl.config.config_loader import DEFAULT_TENANTS_DIR, LoadedTenant, display_path
from etl.config.errors import ConfigError, ConfigIssue
from etl.config.tenant_config import COMMON_TRANSFER_PREFIX, TENANT_TRANSFER_PREFIX
from etl.stages.transfer import sql_transfer
from etl.utils.safe_paths import LinkError, open_inside, own_folder

TENANT_TRANSFER_MODULE = Path("assets") / "transfer.py"
PathKey = tuple[str | int, ...]


def resolve_transfers(loaded: LoadedTenant) -> dict[str, TransferFunction]:
    """The transfer function of every enabled pipeline with ``has_transfer``, by pipeline name."""
    functions: dict[str, TransferFunction] = {}
    issues: list[ConfigIssue] = []
    module: ModuleType | None = None
    for index, pipeline in enumerate(loaded.config.assets.pipelines):
        if not (pipeline.enabled and pipeline.has_transfer):
            continue
        ref = pipeline.transfer_ref
        path: PathKey = ("assets", "pipelines", index, "transfer", "function")
        if ref.sql is not None:
            functions[pipeline.name] = sql_transfer(ref.sql)
        elif ref.function is None:  # TransferConfig guarantees one of the two
            raise ValueError(f"pipeline {pipeline.name!r} has neither a transfer function nor SQL")
        elif ref.function.startswith(COMMON_TRANSFER_PREFIX):
            name = ref.function.removeprefix(COMMON_TRANSFER_PREFIX)
            if name in COMMON_TRANSFERS:
                functions[pipeline.name] = COMMON_TRANSFERS[name]
            else:
                issues.append(loaded.issue(path, (
                    f"unknown common transfer {name!r}; available: {sorted(COMMON_TRANSFERS)}")))
        else:
            name = ref.function.removeprefix(TENANT_TRANSFER_PREFIX)
            module = module or _tenant_module(loaded, path)
            func = getattr(module, name, None)
            if callable(func):
                functions[pipeline.name] = func
            else:
                issues.append(loaded.issue(path, (
                    f"function {name!r} not found in {loaded.folder / TENANT_TRANSFER_MODULE}; "
                    f"define `def {name}(source, ctx)` there")))
    if issues:
        raise ConfigError(loaded.tenant_id, issues)
    return functions


def _tenant_module(loaded: LoadedTenant, path: PathKey) -> ModuleType:
    file = loaded.folder / TENANT_TRANSFER_MODULE
    if not file.is_file():
        raise ConfigError(loaded.tenant_id, [loaded.issue(path, (
            f"refers to tenant code but {file} does not exist; copy it from "
            "etl/tenants/_template/assets/transfer.py"))])
    _check_own_files(loaded, path)
    try:
        return _import(loaded, file)
    except Exception as e:  # a tenant's broken code must not hide the other tenants' errors
        raise ConfigError(loaded.tenant_id, [loaded.issue(path, (
            f"importing {display_path(file)} failed: {type(e).__name__}: {e}"))]) from e


def _check_own_files(loaded: LoadedTenant, path: PathKey) -> None:
    """The tenant code imported is the tenant's own: no file of it leads out of its folder."""
    own = own_folder(loaded.folder.parent, loaded.tenant_id)
    for name in (TENANT_TRANSFER_MODULE, TENANT_TRANSFER_MODULE.parent / "__init__.py",
                 Path("__init__.py")):
        file = loaded.folder / name
        if not file.exists() and not file.is_symlink():
            continue
        try:
            open_inside(file, own).close()
        except OSError as e:
            detail = e.detail if isinstance(e, LinkError) else f"cannot be read: {e.strerror}"
            raise ConfigError(loaded.tenant_id, [loaded.issue(path, (
                f"the tenant code {display_path(file)} {detail}"))]) from None


def _import(loaded: LoadedTenant, file: Path) -> ModuleType:
    if loaded.folder.parent.resolve() == DEFAULT_TENANTS_DIR.resolve():
        return importlib.import_module(f"etl.tenants.{loaded.tenant_id}.assets.transfer")
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:10]
    name = f"etl_tenant_{loaded.tenant_id}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module
