"""The bench's PostgreSQL server and its mixed-type event table.

The table is generated inside PostgreSQL with ``generate_series`` (no rows cross the wire), spread
evenly over ``days`` days, with a B-tree index on the timestamp column the day extract filters
on. A table comment records rows and days, so a second run on the same server reuses it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

TABLE = "bench_events"
DATABASE = "etl_bench"
FIRST_DAY = dt.date(2020, 1, 1)  # 2,000 days end in 2025: every day complete, as a backfill needs

_DDL = """
CREATE TABLE {table} (
    id bigint NOT NULL,
    qty integer,
    amount numeric(18, 4),
    ratio double precision,
    label text,
    flag boolean,
    event_date date,
    event_ts timestamp NOT NULL,
    event_tstz timestamptz
)
"""
# Every column varies; about 1 in 50 values is NULL so validity bitmaps are exercised.
_FILL = """
INSERT INTO {table}
SELECT g,
       CASE WHEN g %% 50 = 1 THEN NULL ELSE (g %% 100000)::int END,
       CASE WHEN g %% 50 = 2 THEN NULL
            ELSE round((g * 7919 %% 1000000007)::numeric / 10000, 4) END,
       g / 7.0,
       'item-' || (g %% 5000)::text || '-' || substr(md5(g::text), 1, 8),
       CASE WHEN g %% 50 = 3 THEN NULL ELSE g %% 3 = 0 END,
       %(first)s::date + (g * %(days)s / %(rows)s)::int,
       %(first)s::timestamp + make_interval(secs => g * (%(days)s * 86400.0 / %(rows)s)),
       %(first)s::timestamptz + make_interval(secs => g * (%(days)s * 86400.0 / %(rows)s))
FROM generate_series(0::bigint, %(last)s::bigint) AS g
"""


@dataclass(frozen=True)
class BenchTable:
    url: str  # SQLAlchemy URL of the bench database, password included
    rows: int
    days: int

    @property
    def day(self) -> str:
        """The partition the day benchmarks extract: the middle of the range."""
        return (FIRST_DAY + dt.timedelta(days=self.days // 2)).isoformat()


@contextlib.contextmanager
def server(dsn: str | None) -> Iterator[str]:
    """The given server URL, or a throwaway one started through tools/services."""
    if dsn is not None:
        yield dsn
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tools.services.postgres import start_postgres

    svc = start_postgres()
    try:
        yield svc.url
    finally:
        svc.stop()


def ensure_database(server_url: str) -> str:
    """Create (or reuse) the bench database on the server; its URL."""
    with psycopg.connect(_conninfo(server_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    return _with_database(server_url, DATABASE)


def ensure_table(server_url: str, rows: int, days: int) -> BenchTable:
    """Create (or reuse) the bench database and table on the server."""
    url = ensure_database(server_url)
    marker = f"rows={rows} days={days} first={FIRST_DAY.isoformat()}"
    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        found = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", (TABLE,))
        row = found.fetchone()
        if row is None or row[0] != marker:
            _generate(conn, rows, days, marker)
    return BenchTable(url=url, rows=rows, days=days)


def _generate(
    conn: psycopg.Connection[tuple[object, ...]], rows: int, days: int, marker: str
) -> None:
    started = time.monotonic()
    table = sql.Identifier(TABLE)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
    conn.execute(sql.SQL(_DDL).format(table=table))
    params = {"first": FIRST_DAY.isoformat(), "days": days, "rows": rows, "last": rows - 1}
    conn.execute(sql.SQL(_FILL).format(table=table), params)
    conn.execute(sql.SQL("CREATE INDEX ON {} (event_ts)").format(table))
    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(table))
    conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal(marker)))
    print(f"generated {rows:,} rows over {days} days in {time.monotonic() - started:.1f}s")


def counts(table: BenchTable) -> tuple[int, int]:
    """(rows in the table, rows on the bench day) as PostgreSQL counts them."""
    day = dt.date.fromisoformat(table.day)
    with psycopg.connect(_conninfo(table.url)) as conn:
        full = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(TABLE)))
        day_rows = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE event_ts >= %s AND event_ts < %s").format(
                sql.Identifier(TABLE)),
            (day, day + dt.timedelta(days=1)),
        )
        return int(full.fetchone()[0]), int(day_rows.fetchone()[0])  # type: ignore[index]


def _conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.conninfo.make_conninfo(
        host=u.host or "", port=u.port or 5432, user=u.username or "",
        password=u.password or "", dbname=u.database or "postgres",
    )


def _with_database(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)
