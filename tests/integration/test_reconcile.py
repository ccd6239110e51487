"""The lake stays equal to the source: rows changed in days older than the lookback are found by
``etl reconcile`` (the ``matches_source`` check fails on exactly those days in the UI) and
``--heal`` makes every day equal again, in the lake and in the warehouse, by count and by value.

PostgreSQL and MariaDB sources, a DuckDB warehouse here; Trino in both load modes in
``test_reconcile_trino``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from etl import naming
from etl.config.tenant_config import PipelineAssetConfig
from etl.sources.fingerprint import Fingerprint
from etl.stages.extract import extract_request
from tests.integration import source_cases
from tests.integration.reconcile_support import (
    DAYS,
    create_orders,
    differing,
    drift,
    site,
    source_rows,
)
from tests.integration.source_support import execute, source

PIPELINES = """\
    - {name: orders, table: orders, date_column: created_at, primary_key: [id],
       save_to_trino: true}
    - {name: orders_keyed, table: orders, date_column: created_at, primary_key: [id],
       change_column: updated_at, save_to_trino: true}
"""


def test_reconcile_finds_exactly_the_changed_days_and_heal_makes_them_equal(
        case: source_cases.SourceCase, db: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    create_orders(db, case.naive_timestamp)
    home = site(tmp_path, db, "recon", monkeypatch)
    home.write(f"{{root: {tmp_path}/lake}}", f"{{type: duckdb, path: {tmp_path}/wh.duckdb}}",
               PIPELINES)
    code, out = home.etl(capsys, "backfill", "recon", "--from", DAYS[0], "--to", DAYS[-1])
    assert code == 0, out
    code, out = home.etl(capsys, "reconcile", "recon", "--from", DAYS[0], "--to", DAYS[-1])
    assert code == 0 and f"{len(DAYS)} day(s) checked, {len(DAYS)} equal, 0 differ" in out, out

    changed = drift(db)
    code, out = home.etl(capsys, "reconcile", "recon", "--from", DAYS[0], "--to", DAYS[-1])
    assert code == 1
    for pipeline in ("orders", "orders_keyed"):
        assert differing(out, pipeline) == set(changed), out
    assert f"{DAYS[4]}  differs   19 row(s) at the source now, 20 loaded" in out
    with home.ui() as ui:
        for pipeline in ("orders", "orders_keyed"):
            check = naming.check_key("recon", "extract", pipeline, naming.SOURCE_CHECK)
            states = ui.check_days(check, DAYS)
            assert {d for d, s in states.items() if s == "FAILED"} == set(changed), states
            assert {s for d, s in states.items() if d not in changed} == {"SUCCEEDED"}

    code, out = home.etl(capsys, "reconcile", "recon", "--from", DAYS[0], "--to", DAYS[-1],
                         "--heal")
    assert code == 0, out
    assert f"healing {len(changed)} day(s) of orders, orders_keyed in one run" in out
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        for pipeline in ("orders", "orders_keyed"):
            for day in DAYS:
                expected = source_rows(db, day)
                loaded = sorted(
                    (i, str(a) if a is not None else None, n) for i, a, n in con.execute(
                        f"SELECT id, amount, note FROM wh.recon.{pipeline} WHERE dt = ?",
                        [day]).fetchall())
                assert loaded == expected, (pipeline, day)
                assert home.lake_rows(pipeline, day, ("id", "amount", "note")) == expected
    with home.ui() as ui:
        for pipeline in ("orders", "orders_keyed"):
            check = naming.check_key("recon", "extract", pipeline, naming.SOURCE_CHECK)
            assert set(ui.check_days(check, DAYS).values()) == {"SUCCEEDED"}
            load = naming.check_key("recon", "load", pipeline, naming.RECONCILE_CHECK)
            assert set(ui.check_days(load, DAYS).values()) == {"SUCCEEDED"}


def test_a_change_in_a_non_key_column_is_found_when_the_fingerprint_covers_it(
        case: source_cases.SourceCase, db: str) -> None:
    """All columns: any column; key and change_column: a change that moves updated_at (and
    not one that does not, which the README states)."""
    create_orders(db, case.naive_timestamp)
    every = PipelineAssetConfig(name="o", table="orders", date_column="created_at",
                                primary_key=("id",))
    keyed = every.model_copy(update={"change_column": "updated_at"})
    reader = source(db, "sqlalchemy")

    def now(p: PipelineAssetConfig) -> dict[str, Fingerprint]:
        return reader.fingerprints(extract_request(p, reader, list(DAYS[2:6])))

    before = {p.name: now(p) for p in (every, keyed.model_copy(update={"name": "k"}))}
    execute(db, "UPDATE orders SET note = 'edited' WHERE id = 203")
    execute(db, f"UPDATE orders SET amount = 0, updated_at = '{DAYS[-1]} 01:00:00' WHERE id = 304")
    after_all, after_keyed = now(every), now(keyed)
    assert {d for d in DAYS[2:6] if after_all[d] != before["o"][d]} == {DAYS[2], DAYS[3]}
    assert {d for d in DAYS[2:6] if after_keyed[d] != before["k"][d]} == {DAYS[3]}
    assert all(after_all[d].rows == 20 for d in DAYS[2:6])


def test_a_scanner_read_adds_up_each_days_fingerprint_from_the_rows_it_reads(
        case: source_cases.SourceCase, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through DuckDB's scanner the rows carry their hashes: each day's fingerprint is added up
    from exactly the rows read, with no fingerprint query of the read's own, and equals the one
    a reconcile takes with its grouped query (an empty day and NULLs included)."""
    import etl.sources.duckdb_reader as duckdb_reader
    from etl.sources.in_band import ROW_HASH, Sums

    create_orders(db, case.naive_timestamp)
    execute(db, "DELETE FROM orders WHERE id >= 300 AND id < 400",  # DAYS[3]: no rows
            "UPDATE orders SET amount = NULL WHERE id = 501")

    def no_query(*args: object) -> None:
        raise AssertionError("the scanner read ran a fingerprint query of its own")

    monkeypatch.setattr(duckdb_reader, "_fingerprints", no_query)
    every = PipelineAssetConfig(name="o", table="orders", date_column="created_at",
                                primary_key=("id",))
    keyed = every.model_copy(update={"change_column": "updated_at"})
    scanner, generic = source(db, "duckdb"), source(db, "sqlalchemy")
    for pipeline in (every, keyed):
        request = extract_request(pipeline, scanner, list(DAYS))
        with scanner.session() as session, session.read(request) as read:
            assert ROW_HASH not in read.reader.schema.names
            rows = read.reader.read_all()
            assert isinstance(read.fingerprints, Sums)
            found, moved = read.fingerprints.final()
        assert ROW_HASH not in rows.column_names and not moved
        assert rows.num_rows == sum(f.rows for f in found.values()) == len(DAYS) * 20 - 20
        assert found[DAYS[3]] == Fingerprint.empty()
        assert found == generic.fingerprints(extract_request(pipeline, generic, list(DAYS)))
