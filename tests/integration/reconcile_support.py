"""A tenant on a real source database for the reconcile and incremental tests, run through the
``etl`` command as a user runs it (runs recorded in a SQLite ``DAGSTER_HOME`` under the test's
folder, its code location that of ``etl.tenant_location``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from etl import naming
from etl.cli.main import main
from etl.runs.launch import CodeLocation
from tests.integration.source_support import execute
from tests.ui import UI, workspace_ui
from tools.services.s3 import S3Bucket

TODAY = dt.datetime.now(dt.UTC).date()
FIRST = TODAY - dt.timedelta(days=14)
DAYS = tuple((FIRST + dt.timedelta(days=i)).isoformat() for i in range(8))
ROWS_PER_DAY = 20
Row = tuple[Any, ...]


@dataclass
class Site:
    """One tenant's folder, Dagster home and source database."""

    root: Path
    tenant: str
    url: str  # the source, password included (the tenant's config names it by variable)

    @property
    def password_env(self) -> str:
        """The password's variable, with the tenant's prefix as every variable it names."""
        return f"{self.tenant.upper()}_DB_PASSWORD"

    def env(self, name: str) -> str:
        """A variable of this tenant (``<TENANT>_<name>``)."""
        return f"{self.tenant.upper()}_{name}"

    def write(self, storage: str, warehouse: str, pipelines: str, extra: str = "") -> None:
        folder = self.root / "tenants" / self.tenant
        folder.mkdir(parents=True, exist_ok=True)
        url = make_url(self.url)._replace(password=None).render_as_string(hide_password=False)
        (folder / "config.yaml").write_text(
            f"tenant: {{id: {self.tenant}, name: Reconcile test}}\n"
            f"source: {{url: '{url}', password_env: {self.password_env}}}\n"
            f"storage: {storage}\nwarehouse: {warehouse}\n"
            f"schedule: {{start_date: {FIRST.isoformat()}, timezone: UTC}}\n{extra}"
            f"assets:\n  inherit: none\n  pipelines:\n{pipelines}")

    def s3_storage(self, bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> str:
        """The tenant's ``storage`` block on ``bucket``, its keys in the tenant's variables."""
        monkeypatch.setenv(self.env("LAKE_KEY"), bucket.access_key)
        monkeypatch.setenv(self.env("LAKE_SECRET"), bucket.secret_key)
        return (f"{{root: 's3://{bucket.bucket}/lake', endpoint_url: '{bucket.endpoint_url}', "
                f"region: {bucket.region}, access_key_env: {self.env('LAKE_KEY')}, "
                f"secret_key_env: {self.env('LAKE_SECRET')}}}")

    def etl(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
        """``etl ARGS`` in this process: its exit status and what it printed."""
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    @contextmanager
    def ui(self) -> Iterator[UI]:
        with dg.DagsterInstance.get() as instance, \
                workspace_ui(instance, CodeLocation.of_tenant(self.tenant)) as found:
            yield found

    def lake_rows(self, pipeline: str, day: str, columns: tuple[str, ...]) -> list[Row]:
        path = (self.root / "lake" / naming.data_file_path(self.tenant, "extract", pipeline, day))
        table = pq.read_table(path, columns=list(columns))
        return sorted(_plain(tuple(r.values())) for r in table.to_pylist())


def site(root: Path, url: str, tenant: str, monkeypatch: pytest.MonkeyPatch) -> Site:
    """The tenant's environment, as ``etl`` reads it: its folder, home and password."""
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("ETL_TENANTS_DIR", str(root / "tenants"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.chdir(root)
    found = Site(root, tenant, url)
    monkeypatch.setenv(found.password_env, str(make_url(url).password or ""))
    return found


def create_orders(url: str, timestamp: str) -> None:
    """``orders``: 20 rows on each of ``DAYS``, each with the time it last changed."""
    rows = []
    for d, day in enumerate(DAYS):
        for i in range(ROWS_PER_DAY):
            at = f"{day} {i % 24:02d}:{i:02d}:00"
            rows.append(f"({d * 100 + i}, '{at}', {d + i}.25, "
                        f"{'NULL' if i % 7 == 0 else repr(f'note {d} {i}')}, '{at}')")
    execute(url, f"CREATE TABLE orders (id bigint PRIMARY KEY, created_at {timestamp} NOT NULL,"
                 f" amount decimal(12, 2), note text, updated_at {timestamp} NOT NULL)",
            f"INSERT INTO orders VALUES {', '.join(rows)}")


def drift(url: str) -> dict[str, str]:
    """Rows changed in days older than the lookback: updated, deleted, inserted; each change
    bumps updated_at, as the application does. Returns what happened on which day."""
    now = f"{TODAY.isoformat()} 00:00:00"
    execute(url,
            f"UPDATE orders SET amount = amount + 1, updated_at = '{now}' WHERE id = 103",
            "DELETE FROM orders WHERE id = 405",
            f"INSERT INTO orders VALUES (799, '{DAYS[7]} 23:00:00', 9.99, 'late', '{now}')")
    return {DAYS[1]: "updated", DAYS[4]: "deleted", DAYS[7]: "inserted"}


def source_rows(url: str, day: str) -> list[Row]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text(
                "SELECT id, amount, note FROM orders WHERE created_at >= :a AND created_at < :b"),
                {"a": dt.datetime.fromisoformat(day),
                 "b": dt.datetime.fromisoformat(day) + dt.timedelta(days=1)}).all()
    finally:
        engine.dispose()
    return sorted(_plain(tuple(r)) for r in found)


def _plain(row: Row) -> Row:
    """Values as every engine gives them back: integers, exact decimals as text, text."""
    return tuple(str(Decimal(v)) if isinstance(v, Decimal | float) and not isinstance(v, bool)
                 else v for v in row)


def differing(output: str, pipeline: str) -> set[str]:
    """The days ``etl reconcile`` listed as differing for ``pipeline``."""
    days: set[str] = set()
    current = None
    for line in output.splitlines():
        words = line.split()
        if line.startswith("  ") and not line.startswith("    ") and words:
            current = words[0]
        elif line.startswith("    ") and current == pipeline and words and words[0][:2] == "20":
            days.add(words[0])
    return days
