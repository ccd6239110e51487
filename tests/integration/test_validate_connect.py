"""``etl validate --connect`` against real PostgreSQL, MariaDB, S3 and Trino.

One run over several tenants must report every problem of every tenant together, each at the
config line to fix: a missing table, a missing column and date column, a wrong password, an
unreachable (and a silent) host, a missing bucket and a missing Trino catalog, and never a
secret.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import make_url

from etl.scaffold import LOCATION_MODULE
from etl.validate.tenants import validate_tenants
from tools.services.base import Service
from tools.services.s3 import S3Bucket

WRONG_PASSWORD = "Wr0ng-Pa55-Secret-xyz"
S3_SECRET = "s3-Secret-Value-0123456789"  # the moto server takes any secret
TIMEOUT_S = 3.0


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield int(s.getsockname()[1])


def create_orders(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY, qty INTEGER, "
                             "created_at TIMESTAMP)"))
    engine.dispose()


def without_password(url: str) -> str:
    return make_url(url)._replace(password=None).render_as_string(hide_password=False)


class _Dumper(yaml.SafeDumper):
    """Writes a value used twice in full: the config loader refuses anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class Site:
    """A tenants folder with its own code-location modules (so the layout is clean)."""

    def __init__(self, root: Path) -> None:
        self.tenants = root / "tenants"
        self.package = root / "pkg"
        self.package.mkdir(parents=True)
        self.variables: list[tuple[str, str]] = []  # (variable a block names, the tenant's)

    def add(self, tenant: str, source: dict[str, Any], storage: dict[str, Any],
            warehouse: dict[str, Any], pipelines: list[dict[str, Any]]) -> None:
        """The tenant's config; a block's ``*_env`` variable ``X`` becomes ``<TENANT>_X``, the
        tenant's own variable (see :meth:`export`)."""
        source, storage, warehouse = (self._own(tenant, b) for b in (source, storage, warehouse))
        config = {
            "tenant": {"id": tenant, "name": f"Site {tenant}"},
            "source": source, "storage": storage, "warehouse": warehouse,
            "schedule": {"start_date": "2026-01-01", "timezone": "UTC"},
            "assets": {"inherit": "none", "pipelines": pipelines},
        }
        (self.tenants / tenant).mkdir(parents=True)
        (self.tenants / tenant / "config.yaml").write_text(
            yaml.dump(config, Dumper=_Dumper, sort_keys=False))
        (self.package / f"{tenant}.py").write_text(LOCATION_MODULE.format(tenant=tenant))

    def _own(self, tenant: str, block: dict[str, Any]) -> dict[str, Any]:
        out = dict(block)
        for key, value in block.items():
            if key.endswith("_env"):
                out[key] = f"{tenant.upper()}_{value}"
                self.variables.append((value, out[key]))
        return out

    def export(self, monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
        """Set every tenant's own copy of the variables in ``values``."""
        for name, own in self.variables:
            monkeypatch.setenv(own, values[name])

    def validate(self) -> dict[str, list[str]]:
        reports = validate_tenants(self.tenants, package_dir=self.package, connect=True,
                                   timeout_s=TIMEOUT_S)
        return {r.tenant: r.render() for r in reports}


ORDERS = {"name": "orders", "table": "orders", "date_column": "created_at",
          "primary_key": ["id"], "save_to_trino": True}


@pytest.mark.trino
def test_every_problem_of_every_tenant_is_reported_at_once(
    tmp_path: Path, postgres_db: str, mariadb_db: str, s3_bucket: S3Bucket,
    trino_server: Service, silent_port: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_orders(postgres_db)
    create_orders(mariadb_db)
    values = {"PG_PASSWORD": make_url(postgres_db).password or "",
              "MARIA_PASSWORD": make_url(mariadb_db).password or "",
              "WRONG_PASSWORD": WRONG_PASSWORD, "S3_KEY": s3_bucket.access_key,
              "S3_SECRET": S3_SECRET}
    lake = {"root": f"s3://{s3_bucket.bucket}/lake", "endpoint_url": s3_bucket.endpoint_url,
            "region": s3_bucket.region, "access_key_env": "S3_KEY",
            "secret_key_env": "S3_SECRET"}
    trino = {"type": "trino", "host": trino_server.host, "port": trino_server.port}
    pg = {"url": without_password(postgres_db), "password_env": "PG_PASSWORD"}
    site = Site(tmp_path)
    site.add("pg_ok", pg, lake, trino, [ORDERS])
    site.add("pg_broken", pg, {**lake, "root": f"s3://{s3_bucket.bucket}/other"},
             {**trino, "iceberg_catalog": "no_such_catalog", "default_load_mode": "iceberg"},
             [ORDERS, {**ORDERS, "name": "shipments", "table": "shipments"},
              {**ORDERS, "name": "late", "date_column": "shipped_at"}])
    site.add("maria", {"url": without_password(mariadb_db), "password_env": "MARIA_PASSWORD"},
             {"root": str(tmp_path / "lake")}, {"type": "duckdb", "path": str(tmp_path / "w.db")},
             [{**ORDERS, "columns": ["id", "created_at", "nope"]},
              {**ORDERS, "name": "late", "date_column": "shipped_at"}])
    site.add("wrong_password", {**pg, "password_env": "WRONG_PASSWORD"},
             {**lake, "root": f"s3://{s3_bucket.bucket}/wrong"}, {**trino, "schema_name": "wp"},
             [ORDERS])
    site.add("unreachable",
             {"url": f"postgresql+psycopg://etl@127.0.0.1:{closed_port()}/mes"},
             {**lake, "root": "s3://no-such-bucket-for-etl/lake"},
             {**trino, "port": closed_port()}, [ORDERS])
    site.add("silent", {"url": f"postgresql+psycopg://etl@127.0.0.1:{silent_port}/mes"},
             {**lake, "root": f"s3://{s3_bucket.bucket}/silent"},
             {"type": "duckdb", "path": str(tmp_path / "w.db"), "schema_name": "silent"},
             [ORDERS])
    site.export(monkeypatch, values)
    started = time.monotonic()
    report = site.validate()
    took = time.monotonic() - started
    text = "\n".join(line for lines in report.values() for line in lines)

    # The test servers' secrets are short ("etl", "test"): warned about, never shown.
    assert report["pg_ok"][0] == "pg_ok: ok (2 assets, 4 jobs, 2 schedules), 2 warnings", text
    assert ("the environment variable PG_OK_PG_PASSWORD is set but shorter than 8"
            in report["pg_ok"][1])
    broken = "\n".join(report["pg_broken"])
    assert report["pg_broken"][0].startswith("pg_broken: 3 errors,"), broken
    assert "assets.pipelines[1]: pipeline 'shipments': table 'shipments' does not exist" in broken
    assert ("assets.pipelines[2]: pipeline 'late': date_column 'shipped_at' does not exist in "
            "table 'orders'") in broken
    assert ("warehouse.iceberg_catalog: catalog 'no_such_catalog' (for iceberg loads) does not "
            "exist on Trino at") in broken
    maria = "\n".join(report["maria"])
    assert report["maria"][0].startswith("maria: 2 errors,"), maria
    assert "pipeline 'orders': column(s) ['nope'] do not exist in table 'orders'" in maria
    assert "pipeline 'late': date_column 'shipped_at' does not exist in table 'orders'" in maria
    wrong = "\n".join(report["wrong_password"])
    assert report["wrong_password"][0].startswith("wrong_password: 1 error,"), wrong
    assert "source.url: cannot connect to postgresql://etl@127.0.0.1:" in wrong
    assert "password authentication failed" in wrong
    unreachable = "\n".join(report["unreachable"])
    assert report["unreachable"][0].startswith("unreachable: 3 errors,"), unreachable
    assert "source.url: cannot connect to postgresql://etl@127.0.0.1:" in unreachable
    assert ("storage.root: bucket 'no-such-bucket-for-etl' does not exist at "
            f"{s3_bucket.endpoint_url}") in unreachable
    assert "warehouse.host: listing the catalogs: cannot reach Trino at http://" in unreachable
    silent = "\n".join(report["silent"])
    assert report["silent"][0].startswith("silent: 1 error,"), silent
    assert "source.url: cannot connect to postgresql://etl@127.0.0.1:" in silent
    assert "timeout" in silent.lower()
    for secret in (WRONG_PASSWORD, S3_SECRET):
        assert secret not in text
    # Tenants are probed side by side: the silent host costs one timeout, not one per tenant.
    assert took < 6 * TIMEOUT_S, took
