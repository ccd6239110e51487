"""Find tenants and load their custom code (transfer functions) by reference.

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

from etl.common.assets.transfer import COMMON_TRANSFERS, TransferFunction, sql_transfer
from etl.config.config_loader import (
    CONFIG_FILE_NAME,
    DEFAULT_TENANTS_DIR,
    LoadedTenant,
    display_path,
)
from etl.config.errors import ConfigError
from etl.config.tenant_config import (
    COMMON_TRANSFER_PREFIX,
    TENANT_TRANSFER_PREFIX,
    PipelineAssetConfig,
)

TENANT_TRANSFER_MODULE = Path("assets") / "transfer.py"


def discover_tenants(tenants_dir: Path | None = None) -> list[str]:
    """Tenant ids: folders with a config.yaml, except ``_``/``.``-prefixed ones (the template)."""
    root = tenants_dir or DEFAULT_TENANTS_DIR
    return sorted(
        p.name for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / CONFIG_FILE_NAME).is_file()
    )


def resolve_transfers(loaded: LoadedTenant) -> dict[str, TransferFunction]:
    """The transfer function of every enabled pipeline with ``has_transfer``, by pipeline name."""
    functions: dict[str, TransferFunction] = {}
    issues = []
    module: ModuleType | None = None
    for index, pipeline in enumerate(loaded.config.assets.pipelines):
        if not (pipeline.enabled and pipeline.has_transfer):
            continue
        ref = pipeline.transfer_ref
        path = ("assets", "pipelines", index, "transfer", "function")
        if ref.sql is not None:
            functions[pipeline.name] = sql_transfer(ref.sql)
            continue
        assert ref.function is not None
        if ref.function.startswith(COMMON_TRANSFER_PREFIX):
            name = ref.function.removeprefix(COMMON_TRANSFER_PREFIX)
            if name not in COMMON_TRANSFERS:
                issues.append(loaded.issue(path, (
                    f"unknown common transfer {name!r}; available: {sorted(COMMON_TRANSFERS)}")))
                continue
            functions[pipeline.name] = COMMON_TRANSFERS[name]
            continue
        name = ref.function.removeprefix(TENANT_TRANSFER_PREFIX)
        if module is None:
            module = _tenant_module(loaded, path)
        func = getattr(module, name, None)
        if not callable(func):
            issues.append(loaded.issue(path, (
                f"function {name!r} not found in {loaded.folder / TENANT_TRANSFER_MODULE}; "
                f"define `def {name}(source, ctx)` there")))
            continue
        functions[pipeline.name] = func
    if issues:
        raise ConfigError(loaded.tenant_id, issues)
    return functions


def _tenant_module(loaded: LoadedTenant, path: tuple[str | int, ...]) -> ModuleType:
    file = loaded.folder / TENANT_TRANSFER_MODULE
    if not file.is_file():
        raise ConfigError(loaded.tenant_id, [loaded.issue(path, (
            f"refers to tenant code but {file} does not exist; copy it from "
            "etl/tenants/_template/assets/transfer.py"))])
    try:
        return _import(loaded, file)
    except Exception as e:  # a tenant's broken code must not hide the other tenants' errors
        raise ConfigError(loaded.tenant_id, [loaded.issue(path, (
            f"importing {display_path(file)} failed: {type(e).__name__}: {e}"))]) from e


def _import(loaded: LoadedTenant, file: Path) -> ModuleType:
    if loaded.folder.parent.resolve() == DEFAULT_TENANTS_DIR.resolve():
        return importlib.import_module(f"etl.tenants.{loaded.tenant_id}.assets.transfer")
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:10]
    name = f"etl_tenant_{loaded.tenant_id}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def enabled_pipelines(loaded: LoadedTenant) -> tuple[PipelineAssetConfig, ...]:
    return loaded.config.assets.enabled
