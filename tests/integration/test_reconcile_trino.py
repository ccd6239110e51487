"""Reconcile and heal with a Trino warehouse, both load modes side by side: one pipeline loads
external tables, the other Iceberg, from the same source table; after the heal every day of
both, and of the lake on S3, equals the source by count and by value."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl import naming
from tests.integration import source_cases
from tests.integration.reconcile_support import (
    DAYS,
    Row,
    _plain,
    create_orders,
    differing,
    drift,
    site,
    source_rows,
)
from tests.integration.trino_support import bucket_storage
from tools.services.base import Service
from tools.services.s3 import S3Bucket
from tools.services.trino import query

PIPELINES = """\
    - {name: orders_ext, table: orders, date_column: created_at, primary_key: [id],
       change_column: updated_at, save_to_trino: true, load_mode: external}
    - {name: orders_ice, table: orders, date_column: created_at, primary_key: [id],
       save_to_trino: true, load_mode: iceberg}
"""
CATALOGS = {"orders_ext": "hive", "orders_ice": "iceberg"}


def test_reconcile_and_heal_on_trino_in_both_load_modes(
        case: source_cases.SourceCase, db: str, tmp_path: Path, trino_server: Service,
        s3_bucket: S3Bucket, schema: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    create_orders(db, case.naive_timestamp)
    home = site(tmp_path, db, "recon_trino", monkeypatch)
    home.write(home.s3_storage(s3_bucket, monkeypatch),
               f"{{type: trino, host: {trino_server.host}, port: {trino_server.port}, "
               f"schema_name: {schema}}}", PIPELINES)
    days = ["--from", DAYS[0], "--to", DAYS[-1]]
    code, out = home.etl(capsys, "backfill", "recon_trino", *days)
    assert code == 0, out
    changed = drift(db)
    code, out = home.etl(capsys, "reconcile", "recon_trino", *days)
    assert code == 1
    assert differing(out, "orders_ext") == differing(out, "orders_ice") == set(changed), out
    with home.ui() as ui:
        for pipeline in CATALOGS:
            check = naming.check_key("recon_trino", "extract", pipeline, naming.SOURCE_CHECK)
            states = ui.check_days(check, DAYS)
            assert {d for d, s in states.items() if s == "FAILED"} == set(changed), states

    code, out = home.etl(capsys, "reconcile", "recon_trino", *days, "--heal")
    assert code == 0, out
    storage = bucket_storage(s3_bucket)
    for pipeline, catalog in CATALOGS.items():
        for day in DAYS:
            expected = source_rows(db, day)
            loaded = sorted(_plain(tuple(r)) for r in query(
                trino_server, f"SELECT id, amount, note FROM {catalog}.{schema}.{pipeline} "
                              f"WHERE dt = DATE '{day}'"))
            assert loaded == expected, (pipeline, day)
            assert lake(storage, pipeline, day) == expected, (pipeline, day)


def lake(storage: object, pipeline: str, day: str) -> list[Row]:
    relative = naming.data_file_path("recon_trino", "extract", pipeline, day)
    table = storage.dataset(relative).to_table(columns=["id", "amount", "note"])  # type: ignore[attr-defined]
    return sorted(_plain(tuple(r.values())) for r in table.to_pylist())
