"""``assets.inherit`` chooses the common pipelines a tenant gets: all, none or a list."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.config_loader import DEFAULT_TENANTS_DIR, load_tenant_config
from etl.config.errors import ConfigError
from tests.helpers import copy_tenants

COMMON = ["work_order", "production_result", "quality_inspection"]


def with_assets(tmp_path: Path, assets: str) -> list[str]:
    tenants = copy_tenants(tmp_path, ("default",))
    config = tenants / "default" / "config.yaml"
    config.write_text(config.read_text() + assets)
    return [p.name for p in load_tenant_config("default", tenants).config.assets.enabled]


def test_every_common_pipeline_is_inherited_by_default(tmp_path: Path) -> None:
    assert with_assets(tmp_path, "") == COMMON
    assert with_assets(tmp_path / "all", "assets:\n  inherit: all\n") == COMMON


def test_none_inherits_nothing_and_keeps_the_tenants_own(tmp_path: Path) -> None:
    own = ("assets:\n  inherit: none\n  pipelines:\n    - name: shipments\n"
           "      table: shipment\n      date_column: shipped_at\n")
    assert with_assets(tmp_path, own) == ["shipments"]


def test_a_list_inherits_those_and_overrides_still_merge(tmp_path: Path) -> None:
    assets = ("assets:\n  inherit: [quality_inspection, work_order]\n  pipelines:\n"
              "    - name: work_order\n      save_to_trino: false\n")
    names = with_assets(tmp_path, assets)
    assert names == ["work_order", "quality_inspection"]  # the common file's order
    loaded = load_tenant_config("default", tmp_path / "tenants")
    work_order = next(p for p in loaded.config.assets.pipelines if p.name == "work_order")
    assert work_order.table == "work_order" and work_order.save_to_trino is False


def test_unknown_names_are_errors_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        with_assets(tmp_path, "assets:\n  inherit: [work_ordr]\n")
    assert ("assets.inherit[0]: no common pipeline named 'work_ordr'; did you mean "
            "'work_order'?") in str(info.value)


def test_the_template_shows_the_key() -> None:
    text = (DEFAULT_TENANTS_DIR / "_template" / "config.yaml").read_text()
    assert "  inherit: all " in text and "all, none, or a list" in text
