"""Generated JSON Schemas stay current; the scaffold produces a tenant that loads."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import get_args

import pytest
import yaml
from pydantic import BaseModel

from etl import build_tenant_definitions
from etl.config.config_loader import DEFAULT_TENANTS_DIR
from etl.config.json_schema import TENANT_SCHEMA, expected_schemas
from etl.config.tenant_config import TenantConfig
from etl.errors import UsageError
from etl.scaffold import create_tenant


def test_committed_json_schemas_match_the_models() -> None:
    for path, text in expected_schemas().items():
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `etl schema`"


def test_every_config_field_is_documented_in_the_schema() -> None:
    """Walks every model reachable from the tenant config, each warehouse kind included."""
    from etl.config.tenant_config import CommonPipelines, TenantConfig

    seen: set[type[BaseModel]] = set()
    missing: list[str] = []

    def walk(annotation: object) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                return
            seen.add(annotation)
            for name, info in annotation.model_fields.items():
                if not info.description:
                    missing.append(f"{annotation.__name__}.{name}")
                walk(info.annotation)
        for arg in get_args(annotation):
            walk(arg)

    walk(TenantConfig)
    walk(CommonPipelines)
    assert missing == []
    assert len(seen) >= 10


def test_configs_reference_the_schema() -> None:
    for tenant in ("_template", "default", "project_01"):
        first = (DEFAULT_TENANTS_DIR / tenant / "config.yaml").read_text().splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../../config/{TENANT_SCHEMA.name}"


def test_scaffold_creates_a_loadable_tenant(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants"
    shutil.copytree(DEFAULT_TENANTS_DIR / "_template", tenants / "_template")
    package = tmp_path / "pkg"
    package.mkdir()
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text("load_from:\n")
    lines = create_tenant("site_42", "Plant: Busan #2", tenants_dir=tenants,
                          package_dir=package, workspace=workspace)
    assert any("next: edit" in line for line in lines)
    config = yaml.safe_load((tenants / "site_42" / "config.yaml").read_text())
    assert TenantConfig.model_validate(config).tenant.name == "Plant: Busan #2"
    assert 'build_tenant_definitions("site_42")' in (package / "site_42.py").read_text()
    listed = yaml.safe_load(workspace.read_text())["load_from"]
    assert listed == [{"python_module": {"module_name": "etl.site_42",
                                         "location_name": "site_42"}}]
    repo = build_tenant_definitions("site_42", tenants_dir=tenants).get_repository_def()
    assert len(repo.asset_graph.get_all_asset_keys()) == 9  # the common pipelines
    # The template's password variable, once uncommented, is the tenant's own.
    text = (tenants / "site_42" / "config.yaml").read_text()
    assert "  # password_env: SITE_42_DB_PASSWORD\n" in text
    config = yaml.safe_load(text.replace("  # password_env:", "  password_env:"))
    assert TenantConfig.model_validate(config).source.password_env == "SITE_42_DB_PASSWORD"
    with pytest.raises(UsageError, match="already exists"):
        create_tenant("site_42", tenants_dir=tenants, package_dir=package, workspace=workspace)
    with pytest.raises(ValueError, match="not allowed"):
        create_tenant("All", tenants_dir=tenants, package_dir=package, workspace=workspace)
