"""``etl tenant new <id>``: the seed's five onboarding steps done by code.

Copies ``_template``, fills in the id and name, writes the code-location module and adds it to
``workspace.yaml``; what remains for a person is the connection details in ``config.yaml``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from etl.config.config_loader import DEFAULT_TENANTS_DIR, validate_tenant_id
from etl.config.tenant_config import TenantConfig
from etl.errors import UsageError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent

LOCATION_MODULE = '''"""Code location of tenant '{tenant}' (`dg dev -m etl.{tenant}`)."""

import dagster as dg

from etl import build_tenant_definitions


@dg.definitions
def defs() -> dg.Definitions:
    return build_tenant_definitions("{tenant}")
'''


def location_entry(tenant: str) -> str:
    return f"  - python_module:\n      module_name: etl.{tenant}\n      location_name: {tenant}\n"


def create_tenant(
    tenant: str,
    name: str | None = None,
    tenants_dir: Path = DEFAULT_TENANTS_DIR,
    package_dir: Path = PACKAGE_DIR,
    workspace: Path = PROJECT_DIR / "workspace.yaml",
) -> list[str]:
    folder = tenants_dir / tenant
    validate_tenant_id(tenant, folder)
    module = package_dir / f"{tenant}.py"
    if folder.exists() or module.exists():
        raise UsageError(f"tenant {tenant!r} already exists ({folder} or {module})")
    template = tenants_dir / "_template"
    text = (template / "config.yaml").read_text(encoding="utf-8")
    # The name goes in as a JSON string, which is valid YAML whatever it contains (": #").
    text = (text.replace("__TENANT_ID__", tenant)
            .replace("__TENANT_NAME__", json.dumps(name or tenant.replace("_", " ").title(),
                                                   ensure_ascii=False))
            .replace("__TENANT_ENV__", tenant.upper()))
    TenantConfig.model_validate(yaml.safe_load(text))  # fail before anything is written
    shutil.copytree(template, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    module.write_text(LOCATION_MODULE.format(tenant=tenant), encoding="utf-8")
    done = [f"created {folder}", f"created {module}"]
    if workspace.exists():
        with workspace.open("a", encoding="utf-8") as f:
            f.write(location_entry(tenant))
        done.append(f"added etl.{tenant} to {workspace}")
    done.append(f"next: edit {folder / 'config.yaml'} (source url, password_env, storage, "
                "warehouse)")
    return done
