"""PostgreSQL and MariaDB sources on real servers: exact types, day windows, pipelines, errors.

Every read runs through both readers (DuckDB's postgres/mysql scanner and the generic
SQLAlchemy path) and must produce the same Parquet: same Arrow types, same values. The tests
are written once and run against each server (ids like ``[postgres-duckdb]``); what differs
between the servers (DDL, expected types, error texts) is data in ``source_cases/``.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from etl.config.tenant_config import PipelineAssetConfig
from etl.demo.sample_db import seed
from etl.sources.base import ExtractRequest
from etl.sources.dispatch import create_source_engine, open_reader, resolve_url
from etl.sources.duckdb_reader import open_duckdb_reader
from etl.sources.errors import SourceError
from etl.sources.plan import plan_read
from etl.stages.extract import run_extract
from etl.utils.logical_types import enum_values, logical_type
from tests.helpers import storage_resource
from tests.integration import source_cases
from tests.integration.source_support import (
    ENGINES,
    WRONG_PASSWORD,
    assert_no_secret,
    execute,
    extract,
    source,
)
from tools.services.base import free_port

DAYS = (dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3))


def same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Type equality that ignores list element names (Parquet renames ``item``)."""
    if pa.types.is_list(expected):
        return pa.types.is_list(actual) and same_type(actual.value_type, expected.value_type)
    return bool(actual == expected)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_type_lands_in_parquet_exactly(
    case: source_cases.SourceCase, db: str, engine: str, tmp_path: Path
) -> None:
    """Each source type gets its exact Arrow type and every extreme value survives the trip;
    uuid, json, interval and enum columns say so in their field metadata."""
    execute(db, *case.every_type_ddl)
    rows, table = extract(db, engine, tmp_path, table="every_type")
    assert rows == 3
    table = table.sort_by("id")
    assert table.column_names == list(case.every_type)
    for column in case.columns:
        field = table.schema.field(column.name)
        assert same_type(field.type, column.arrow), (column.name, field)
        assert table.column(column.name).to_pylist() == list(column.values), column.name
        assert logical_type(field) == column.logical, column.name
        assert enum_values(field) == column.enum, column.name


def test_both_engines_write_the_same_file(
    case: source_cases.SourceCase, db: str, tmp_path: Path
) -> None:
    """Switching a tenant's engine must not change the data a downstream load sees."""
    execute(db, *case.every_type_ddl)
    _, fast = extract(db, "duckdb", tmp_path, table="every_type")
    _, generic = extract(db, "sqlalchemy", tmp_path, table="every_type")
    assert fast.schema == generic.schema
    assert fast.sort_by("id").equals(generic.sort_by("id"))


@pytest.mark.parametrize("engine", ENGINES)
def test_pipeline_day_and_whole_table_counts_match_the_seed(
    db: str, engine: str, tmp_path: Path
) -> None:
    """The demo pipelines read exactly the seeded rows, per day and whole, with their types."""
    summary = seed(sa.create_engine(db), list(DAYS))
    day = DAYS[1].isoformat()
    for table, date_column in (("work_order", "created_at"), ("production_result", "produced_at"),
                               ("quality_inspection", "inspected_at")):
        rows, data = extract(db, engine, tmp_path, day, table=table, date_column=date_column)
        assert rows == data.num_rows == summary.rows(table, day), table
        assert {d.date() for d in data.column(date_column).to_pylist()} == {DAYS[1]}
        rows, data = extract(db, engine, tmp_path, None, table=table, date_column=date_column)
        assert rows == data.num_rows == summary.rows(table), table
    rows, items = extract(db, engine, tmp_path, table="CFG_ITEM_MASTER")
    assert rows == summary.items
    assert items.schema.field("STD_COST").type == pa.decimal128(12, 4)
    _, results = extract(db, engine, tmp_path, day, table="production_result",
                         date_column="produced_at")
    assert results.schema.field("unit_cost").type == pa.decimal128(12, 4)
    assert results.schema.field("produced_at").type == pa.timestamp("us")
    assert results.schema.field("produced_qty").type == pa.int32()


@pytest.mark.parametrize("engine", ENGINES)
def test_zoned_timestamp_day_is_the_tenant_zone_day(
    case: source_cases.SourceCase, db: str, engine: str, tmp_path: Path
) -> None:
    """An instant column is windowed by the tenant's day; a naive one is taken as local."""
    # 2026-03-02 in Asia/Seoul (+09) is [2026-03-01 15:00Z, 2026-03-02 15:00Z).
    execute(db, *case.events_ddl)
    storage = storage_resource(str(tmp_path / "lake"))
    for column in ("at", "local_at"):
        config = PipelineAssetConfig(name=f"events_{column}", table="events", date_column=column)
        ((_, outcome),) = run_extract("t1", config, source(db, engine, timezone="Asia/Seoul"),
                                      storage, ["2026-03-02"])
        data = pq.read_table(outcome.uri).sort_by("id")
        assert data.column("id").to_pylist() == [2, 3], column
    assert data.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert data.column("at").to_pylist()[0] == dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC)
    assert data.column("local_at").to_pylist()[0] == dt.datetime(2026, 3, 2)  # not shifted


@pytest.mark.parametrize("engine", ENGINES)
def test_custom_query_is_filtered_by_day_and_typed(
    case: source_cases.SourceCase, db: str, engine: str, tmp_path: Path
) -> None:
    """A tenant's own SQL gets the day filter, keeps its literals and gets exact types."""
    summary = seed(sa.create_engine(db), list(DAYS))
    day = DAYS[2].isoformat()
    rows, data = extract(db, engine, tmp_path, day, query=case.custom_query,
                         date_column="produced_at")
    assert rows == summary.rows("production_result", day)
    assert data.schema.field("cost").type == case.custom_cost_type
    assert set(data.column("tag").to_pylist()) == {"a:b%"}


def test_custom_query_is_read_alike_by_both_engines(
    case: source_cases.SourceCase, db: str, tmp_path: Path
) -> None:
    """Computed columns have no table type to go by; both readers must still agree."""
    seed(sa.create_engine(db), list(DAYS))
    day = DAYS[2].isoformat()
    tables = {}
    for engine in ENGINES:
        _, tables[engine] = extract(db, engine, tmp_path, day, query=case.custom_query,
                                    date_column="produced_at")
        assert pa.types.is_decimal(tables[engine].schema.field("cost").type), engine
    assert tables["duckdb"].num_rows > 0
    assert tables["duckdb"].schema == tables["sqlalchemy"].schema
    assert tables["duckdb"].sort_by("id").equals(tables["sqlalchemy"].sort_by("id"))


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ENGINES)
def test_char_keeps_its_pad_blanks_unless_the_pipeline_reads_text(
    postgres_db: str, engine: str, tmp_path: Path
) -> None:
    """char(n) comes as PostgreSQL returns it; ``column_types: {c: string}`` takes its text
    cast instead, which drops the blanks (the behaviour before char kept them)."""
    execute(postgres_db, "CREATE TABLE codes (id int, code char(6))",
            "INSERT INTO codes VALUES (1, 'NONE'), (2, 'ABCDEF'), (3, NULL)")
    query = "SELECT id, code FROM codes"
    for spec in ({"table": "codes"}, {"query": query}):
        _, padded = extract(postgres_db, engine, tmp_path, **spec)
        assert padded.sort_by("id").column("code").to_pylist() == ["NONE  ", "ABCDEF", None]
        _, text = extract(postgres_db, engine, tmp_path, column_types={"code": "string"},
                          **spec)
        assert text.sort_by("id").column("code").to_pylist() == ["NONE", "ABCDEF", None]


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ENGINES)
def test_failed_consumer_releases_the_source_promptly(postgres_db: str, engine: str) -> None:
    """A writer that fails mid-stream must not wait for (or leak) the rest of the read."""
    execute(postgres_db, "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS v "
                         "FROM generate_series(1, 300000) AS g")
    request = ExtractRequest(table="big", query=None, columns=None, row_filter=None,
                             batch_size=1000)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="disk full"), \
            open_reader(resolve_url(postgres_db, None), request, engine) as reader:
        assert reader.read_next_batch().num_rows == 1000
        raise RuntimeError("disk full")
    assert time.monotonic() - started < 10
    database = make_url(postgres_db).database
    check = sa.create_engine(postgres_db)
    with check.connect() as conn:
        sessions = conn.execute(sa.text(
            "SELECT state, left(query, 60) FROM pg_stat_activity "
            "WHERE datname = :db AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"  # not autovacuum on the new table
        ), {"db": database}).all()
    check.dispose()
    assert sessions == []  # no COPY still running, no cursor left idle in transaction


@pytest.mark.parametrize("engine", ENGINES)
def test_wrong_password_is_one_clear_error_without_the_password(
    case: source_cases.SourceCase, db: str, engine: str, tmp_path: Path
) -> None:
    """The server's own reason reaches the user; the password never does, not even chained."""
    storage = storage_resource(str(tmp_path / "lake"))
    bad = source(db, engine, password=WRONG_PASSWORD)
    with pytest.raises(SourceError, match=case.auth_error) as info:
        list(run_extract("t1", PipelineAssetConfig(name="p", table="t"), bad, storage, None))
    assert_no_secret(info.value, WRONG_PASSWORD)


def test_duckdb_attach_failure_is_redacted(case: source_cases.SourceCase, db: str) -> None:
    """DuckDB echoes the connection string or parameters, password included, when ATTACH
    fails; the reader must strip it while keeping the server's reason."""
    execute(db, "CREATE TABLE t (id int)")
    request = ExtractRequest(table="t", query=None, columns=None, row_filter=None,
                             batch_size=1000)
    good = resolve_url(db, None)
    plan = plan_read(create_source_engine(good), request, None)
    with pytest.raises(SourceError, match=case.auth_error) as info, \
            open_duckdb_reader(good.set(password=WRONG_PASSWORD), plan, 1000):
        pass
    assert_no_secret(info.value, WRONG_PASSWORD)


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_table_and_column_are_named(
    case: source_cases.SourceCase, db: str, engine: str, tmp_path: Path
) -> None:
    """A typo in the config is reported by name, not as the driver's SQL error."""
    execute(db, f"CREATE TABLE t (id int, created_at {case.naive_timestamp})")
    with pytest.raises(SourceError, match="table 'nope' does not exist in the source"):
        extract(db, engine, tmp_path, table="nope")
    with pytest.raises(SourceError, match=r"column\(s\) \['nope'\] do not exist in table 't'"):
        extract(db, engine, tmp_path, table="t", columns=["id", "nope"])
    with pytest.raises(SourceError, match="date_column 'nope' does not exist in table 't'"):
        extract(db, engine, tmp_path, "2026-03-01", table="t", date_column="nope")


@pytest.mark.parametrize("engine", ENGINES)
def test_unreachable_port_is_one_clear_error(
    case: source_cases.SourceCase, db: str, engine: str, tmp_path: Path
) -> None:
    """A down server is named by backend, user, host and port, with no credentials."""
    port = free_port()
    url = make_url(db).set(port=port).render_as_string(hide_password=False)
    with pytest.raises(SourceError, match=rf"cannot connect to {case.backend}://etl@127\.0\.0\.1:"
                       rf"{port}/.*Connection refused") as info:
        extract(url, engine, tmp_path, table="t")
    assert "etl:etl" not in str(info.value)


def test_duckdb_engine_refuses_other_dialects(tmp_path: Path) -> None:
    """The DuckDB scanners exist only for PostgreSQL and MySQL; anything else must say so."""
    db = tmp_path / "s.db"
    sa.create_engine(f"sqlite:///{db}").dispose()
    db.touch()
    with pytest.raises(SourceError, match="engine 'duckdb' reads only PostgreSQL and MySQL"):
        extract(f"sqlite:///{db}", "duckdb", tmp_path, table="t")


def test_the_scanner_extension_is_checked_once_per_file(
    case: source_cases.SourceCase, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB checks the scanner's signature on the first load of a file in a process; later
    reads skip the check (0.1 s each), but a file that changed since is checked again, and a
    tampered one is refused."""
    from etl.sources import duckdb_reader
    from etl.sources.dialects.registry import dialect_for

    execute(db, "CREATE TABLE t (id int)")
    execute(db, "INSERT INTO t VALUES (1), (2)")
    url = resolve_url(db, None)
    scanner = dialect_for(url).scanner
    assert scanner is not None
    shipped = duckdb_reader.extension_path(scanner)
    copy = tmp_path / shipped.name
    copy.write_bytes(shipped.read_bytes())
    monkeypatch.setattr(duckdb_reader, "extension_path", lambda _: copy)
    monkeypatch.setattr(duckdb_reader, "VERIFIED", duckdb_reader._Verified())
    request = ExtractRequest(table="t", query=None, columns=None, row_filter=None,
                             batch_size=1000)
    plan = plan_read(create_source_engine(url), request, None)

    def read() -> int:
        with open_duckdb_reader(url, plan, 1000) as found:
            return found.reader.read_all().num_rows

    def skips_the_check() -> bool:
        return duckdb_reader.VERIFIED.has(duckdb_reader._Verified.identity(copy))

    assert not skips_the_check()
    assert read() == 2  # checked by DuckDB
    assert skips_the_check()
    assert read() == 2  # the same file: loaded without the check

    tampered = bytearray(copy.read_bytes())
    tampered[len(tampered) // 2] ^= 0xFF
    replacement = tmp_path / "tampered"
    replacement.write_bytes(bytes(tampered))
    replacement.replace(copy)  # a new file: the loaded one stays mapped as it was
    assert not skips_the_check()
    with pytest.raises(SourceError, match=f"cannot load DuckDB's {scanner.extension}.*signature"):
        read()
