"""A tenant's files are read only from its own folder: no link leads the framework elsewhere.

``config.yaml``, the tenant code (``assets/transfer.py``) and a deployment's ``<tenant>.env``
are refused when they lead out of their folder (and so is a tenant folder that is itself a
link out of the tenants folder); nothing of the file it leads to is read or shown. A link that
stays inside the tenant's folder (how a mounted config is laid out) is fine.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from etl.cli.main import main
from etl.config.config_loader import load_tenant_config
from etl.config.errors import ConfigError
from etl.deploy.environment import env_file
from etl.errors import UsageError
from tests.unit.test_shared_targets import BASE, DUCKDB, LOCAL, error_of, tenant

SECRET = "Sup3r-S3cret-Value-42"


def outside_file(tmp_path: Path) -> Path:
    """A file outside every tenant folder, holding a secret where a config's values go."""
    secret = tmp_path / "elsewhere" / "secret.yaml"
    secret.parent.mkdir()
    secret.write_text(BASE.format(tenant="thief", storage=LOCAL, warehouse=DUCKDB).replace(
        "sqlite:///source.db", SECRET))
    return secret


def test_a_config_linked_to_a_file_outside_is_refused_without_showing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tenants = tmp_path / "tenants"
    (tenants / "thief").mkdir(parents=True)
    (tenants / "thief" / "config.yaml").symlink_to(outside_file(tmp_path))
    tenant(tenants, "victim")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ETL_TENANTS_DIR", str(tenants))
    assert main(["validate"]) == 1
    out = capsys.readouterr().out
    assert ("thief: 1 error\n  tenants/thief/config.yaml: leads to "
            f"{tmp_path.resolve()}/elsewhere/secret.yaml, outside its folder "
            f"{tenants.resolve()}/thief; the framework reads no file of a tenant through a link "
            "out of the tenant's folder: put the file itself there\n") in out
    assert "victim: ok" in out
    assert SECRET not in out
    # The victim's location reads its siblings' storage blocks: not through that link either.
    assert load_tenant_config("victim", tenants).tenant_id == "victim"


def test_a_tenant_folder_linked_out_of_the_tenants_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path / "elsewhere", "site")
    (tmp_path / "tenants").mkdir()
    (tmp_path / "tenants" / "site").symlink_to(tmp_path / "elsewhere" / "site")
    message = error_of(tmp_path / "tenants", "site")
    assert "tenants/site/config.yaml: leads to " in message
    assert f"outside its folder {(tmp_path / 'tenants').resolve()}/site" in message


def test_a_link_inside_the_tenants_own_folder_is_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mounted config (``config.yaml -> ..data/config.yaml``) stays in its folder."""
    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "site")
    folder = tmp_path / "site"
    (folder / "..data").mkdir()
    (folder / "config.yaml").rename(folder / "..data" / "config.yaml")
    (folder / "config.yaml").symlink_to(Path("..data") / "config.yaml")
    assert load_tenant_config("site", tmp_path).tenant_id == "site"


def test_tenant_code_linked_out_of_the_folder_is_not_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl import build_tenant_definitions

    monkeypatch.chdir(tmp_path)
    tenant(tmp_path, "site")
    config = tmp_path / "site" / "config.yaml"
    config.write_text(config.read_text() + (
        "assets:\n  pipelines:\n    - name: production_result\n"
        "      transfer: {function: 'tenant:anything'}\n"))
    code = tmp_path / "elsewhere.py"
    code.write_text("raise SystemExit('imported')\n")
    (tmp_path / "site" / "assets").mkdir()
    (tmp_path / "site" / "assets" / "transfer.py").symlink_to(code)
    with pytest.raises(ConfigError) as info:
        build_tenant_definitions("site", tmp_path)
    assert ("assets.pipelines[0].transfer.function: the tenant code site/assets/transfer.py "
            f"leads to {code.resolve()}, outside its folder") in str(info.value)


def test_an_env_file_that_is_a_link_is_refused(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    (env_dir / "victim.env").write_text(f"VICTIM_DB_PASSWORD={SECRET}\n")
    (env_dir / "thief.env").symlink_to(env_dir / "victim.env")
    (env_dir / "own.env").write_text("OWN_EXTRA=1\n")
    assert env_file(env_dir, "own") == {"OWN_EXTRA": "1"}
    assert env_file(env_dir, "nobody") == {}
    with pytest.raises(UsageError) as info:
        env_file(env_dir, "thief")
    assert f"the env file {env_dir}/thief.env of tenant 'thief' leads to " in str(info.value)
    assert SECRET not in str(info.value)


def test_a_fifo_is_no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config that never ends (a named pipe) is refused at once instead of read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "site").mkdir()
    os.mkfifo(tmp_path / "site" / "config.yaml")
    assert "is not a regular file" in error_of(tmp_path, "site")
    assert io  # (imported for the module's readers: the checks read binary streams)
