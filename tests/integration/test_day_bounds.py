"""PostgreSQL and MariaDB day windows are exact at every boundary, through both readers.

The property of ``tests/day_bounds.py`` (SQLite runs it in the unit tier): dates, wall-clock
timestamps with microseconds, instants (``timestamptz``; MariaDB ``TIMESTAMP(6)``) in the
tenants' zones Europe/Berlin and America/New_York, and ISO text in a ``varchar`` column, each
row in exactly one day's file, the right one, extracted day by day and in ranges.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.day_bounds import KINDS, ZONES, Row, check_days, rows
from tests.integration.source_support import ENGINES, source

DDL = {
    "postgres": {"date": "date", "timestamp": "timestamp(6)", "instant": "timestamptz(6)",
                 "text": "varchar(40)"},
    "mariadb": {"date": "DATE", "timestamp": "DATETIME(6)", "instant": "TIMESTAMP(6) NULL",
                "text": "VARCHAR(40)"},
}


def _insert(url: str, server: str, kind: str, values: list[Row]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if server == "mariadb":  # TIMESTAMP values are given in UTC
                conn.exec_driver_sql("SET time_zone = '+00:00'")
            else:
                conn.exec_driver_sql("SET TimeZone = 'UTC'")
            conn.exec_driver_sql(f"CREATE TABLE b_{kind} (id integer, v {DDL[server][kind]})")
            conn.exec_driver_sql(f"CREATE INDEX b_{kind}_v ON b_{kind} (v)")
            conn.execute(sa.text(f"INSERT INTO b_{kind} (id, v) VALUES (:id, :v)"),
                         [{"id": r.id, "v": _param(r.value, server)} for r in values])
    finally:
        engine.dispose()


def _param(value: object, server: str) -> object:
    if isinstance(value, dt.datetime) and value.tzinfo is not None and server == "mariadb":
        return value.astimezone(dt.UTC).replace(tzinfo=None)  # the session is at +00:00
    return value


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("server", [pytest.param("postgres", marks=pytest.mark.postgres),
                                    pytest.param("mariadb", marks=pytest.mark.mariadb)])
def test_every_row_lands_in_exactly_its_own_day(server: str, kind: str, engine: str,
                                                request: pytest.FixtureRequest,
                                                tmp_path: Path) -> None:
    url: str = request.getfixturevalue(f"{server}_db")
    values = rows(kind)
    _insert(url, server, kind, values)
    zones = ZONES if kind == "instant" else ZONES[:1]  # only instants depend on the zone
    check_days(kind, values, lambda zone: source(url, engine, timezone=zone), tmp_path, zones)
