"""Folders, configs and code-location modules that do not match up.

A tenant of the package's own tenants folder is a folder with a ``config.yaml`` *and* a module
``etl/<tenant>.py`` that Dagster loads (``workspace.yaml`` names it). A folder without config, a
config without module, or a module whose tenant is gone each load nothing, silently; here each
is an error of its tenant. Tenants kept elsewhere (``ETL_TENANTS_DIR``) need no module: the
code location ``etl.tenant_location`` serves them, and the package's own sample tenants are no
tenants of theirs.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from etl.config.config_loader import (
    CONFIG_FILE_NAME,
    DEFAULT_TENANTS_DIR,
    display_path,
    tenants_root,
)
from etl.naming import is_code_location


def layout_problems(tenants_dir: Path | None, package_dir: Path,
                    modules: bool = True) -> dict[str, list[str]]:
    """Problems by tenant name (a folder's or a module's); ``modules``: whether the tenants
    need code-location modules in ``package_dir`` (see :func:`needs_modules`)."""
    root = tenants_root(tenants_dir)
    problems: dict[str, list[str]] = defaultdict(list)
    folders = {p.name: p for p in root.iterdir()
               if p.is_dir() and not p.name.startswith(("_", "."))}
    configured = {name for name, p in folders.items() if (p / CONFIG_FILE_NAME).is_file()}
    for name in sorted(folders.keys() - configured):
        problems[name].append(
            f"{display_path(folders[name])}: the folder has no {CONFIG_FILE_NAME}; copy "
            "etl/tenants/_template into it (or run `etl tenant new`), or remove the folder")
    if not modules:
        return dict(problems)
    located = {p.stem: p for p in package_dir.glob("*.py") if is_code_location(p)}
    for name in sorted(configured - located.keys()):
        module = package_dir / f"{name}.py"
        problems[name].append(
            f"no code-location module {display_path(module)}, so `dagster dev -m etl.{name}` "
            "and workspace.yaml cannot load this tenant; write it like etl/default.py "
            "(`etl tenant new` does)")
    for name in sorted(located.keys() - folders.keys()):
        problems[name].append(
            f"{display_path(located[name])} is the code location of tenant {name!r}, but "
            f"{display_path(root / name / CONFIG_FILE_NAME)} does not exist; restore the "
            "tenant or remove the module (and its workspace.yaml entry)")
    return dict(problems)


def needs_modules(tenants_dir: Path | None) -> bool:
    """Whether the tenants folder is the package's own, whose tenants need ``etl/<id>.py``."""
    return tenants_root(tenants_dir).resolve() == DEFAULT_TENANTS_DIR.resolve()
