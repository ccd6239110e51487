"""A TPC-H-shaped history for ``bench/backfill.py --shape tpch``: ``lineitem`` and ``orders``.

Generated inside PostgreSQL (no rows cross the wire) with TPC-H's column mix and its date range
(1992-01-01 to 1998-12-01, 2,527 days): ``lineitem`` with four lines per order and the
composite primary key ``(l_orderkey, l_linenumber)``, ``orders`` keyed by ``o_orderkey``, both
spread evenly over the days, indexed on their date column. A tenant onboarded from the README
loads both daily with their primary keys, which gives each day three checks per table (the key
unique, the key not null, the warehouse's row count).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

FIRST_DAY = dt.date(1992, 1, 1)
LAST_DAY = dt.date(1998, 12, 1)
DAYS = (LAST_DAY - FIRST_DAY).days + 1
LINES_PER_ORDER = 4


@dataclass(frozen=True)
class Table:
    name: str
    date_column: str
    primary_key: tuple[str, ...]
    ddl: str
    fill: str


ORDERS = Table("orders", "o_orderdate", ("o_orderkey",), """
CREATE TABLE orders (
    o_orderkey bigint NOT NULL, o_custkey bigint NOT NULL, o_orderstatus char(1) NOT NULL,
    o_totalprice numeric(15, 2) NOT NULL, o_orderdate date NOT NULL,
    o_orderpriority text NOT NULL, o_clerk text NOT NULL, o_shippriority integer NOT NULL,
    o_comment text NOT NULL, PRIMARY KEY (o_orderkey))""", """
INSERT INTO orders
SELECT g, g %% 150000 + 1, (ARRAY['F', 'O', 'P'])[g %% 3 + 1],
       round((g * 7919 %% 50000000)::numeric / 100, 2),
       %(first)s::date + (g * %(days)s / (%(rows)s + 1))::int,
       (ARRAY['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'])[g %% 5 + 1],
       'Clerk#' || lpad((g %% 1000)::text, 9, '0'), 0,
       substr(md5(g::text) || md5((g + 1)::text), 1, 20 + (g %% 40)::int)
FROM generate_series(1::bigint, %(rows)s::bigint) AS g""")

LINEITEM = Table("lineitem", "l_shipdate", ("l_orderkey", "l_linenumber"), """
CREATE TABLE lineitem (
    l_orderkey bigint NOT NULL, l_partkey bigint NOT NULL, l_suppkey bigint NOT NULL,
    l_linenumber integer NOT NULL, l_quantity numeric(15, 2) NOT NULL,
    l_extendedprice numeric(15, 2) NOT NULL, l_discount numeric(15, 2) NOT NULL,
    l_tax numeric(15, 2) NOT NULL, l_returnflag char(1) NOT NULL, l_linestatus char(1) NOT NULL,
    l_shipdate date NOT NULL, l_commitdate date NOT NULL, l_receiptdate date NOT NULL,
    l_shipinstruct text NOT NULL, l_shipmode text NOT NULL, l_comment text NOT NULL,
    PRIMARY KEY (l_orderkey, l_linenumber))""", """
INSERT INTO lineitem
SELECT g / 4 + 1, g %% 200000 + 1, g %% 10000 + 1, (g %% 4)::int + 1, (g %% 50 + 1)::numeric,
       round((g * 104729 %% 10000000)::numeric / 100, 2), ((g %% 11)::numeric / 100),
       ((g %% 9)::numeric / 100), (ARRAY['A', 'N', 'R'])[g %% 3 + 1],
       (ARRAY['F', 'O'])[g %% 2 + 1],
       %(first)s::date + (g * %(days)s / (%(rows)s + 1))::int,
       %(first)s::date + (g * %(days)s / (%(rows)s + 1))::int + (g %% 30)::int,
       %(first)s::date + (g * %(days)s / (%(rows)s + 1))::int + (g %% 31)::int,
       (ARRAY['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'])[g %% 4 + 1],
       (ARRAY['AIR', 'FOB', 'MAIL', 'RAIL', 'REG AIR', 'SHIP', 'TRUCK'])[g %% 7 + 1],
       substr(md5(g::text), 1, 10 + (g %% 30)::int)
FROM generate_series(0::bigint, %(rows)s::bigint - 1) AS g""")

TABLES = (LINEITEM, ORDERS)


def ensure_tables(conn: psycopg.Connection[tuple[object, ...]], lineitem_rows: int) -> None:
    """Create (or reuse) both tables; orders has a quarter of lineitem's rows."""
    for table, rows in ((LINEITEM, lineitem_rows), (ORDERS, lineitem_rows // LINES_PER_ORDER)):
        marker = f"tpch rows={rows} first={FIRST_DAY} days={DAYS}"
        found = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')",
                             (table.name,)).fetchone()
        if found is not None and found[0] == marker:
            continue
        started = time.monotonic()
        name = sql.Identifier(table.name)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
        conn.execute(table.ddl)
        conn.execute(sql.SQL(table.fill),  # type: ignore[arg-type]
                     {"first": FIRST_DAY.isoformat(), "days": DAYS, "rows": rows})
        conn.execute(sql.SQL("CREATE INDEX ON {} ({})").format(
            name, sql.Identifier(table.date_column)))
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(name))
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(name, sql.Literal(marker)))
        print(f"generated {table.name}: {rows:,} rows over {DAYS} days in "
              f"{time.monotonic() - started:.1f}s")


def pipelines_yaml() -> str:
    """The tenant's two daily pipelines with their primary keys, as the README onboards them."""
    return "".join(
        f"    - name: {t.name}\n      table: {t.name}\n      date_column: {t.date_column}\n"
        f"      primary_key: [{', '.join(t.primary_key)}]\n      save_to_trino: true\n"
        for t in TABLES)
