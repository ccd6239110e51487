"""SQLite day windows are exact: a midnight written without its fraction stays on its day.

SQLite keeps datetimes as the text the application wrote; the property (``tests/day_bounds``)
runs over the forms applications write, in a ``TIMESTAMP`` column (read as timestamps) and a
``TEXT`` column (read as text). PostgreSQL and MariaDB run the same property in
``tests/integration/test_day_bounds.py``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.config.tenant_config import PipelineAssetConfig
from tests.day_bounds import check_days, extracted_ids, rows
from tests.helpers import source_resource

COLUMN = {"date": "DATE", "timestamp": "TIMESTAMP", "text": "TEXT"}


def _sqlite(tmp_path: Path, kind: str) -> str:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    # SQLite stores what it is given: datetimes as the text forms applications write.
    values = rows("text" if kind == "timestamp" else kind)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE b_{kind} (id INTEGER, v {COLUMN[kind]})")
        conn.exec_driver_sql(f"CREATE INDEX b_{kind}_v ON b_{kind} (v)")
        conn.exec_driver_sql(f"INSERT INTO b_{kind} VALUES (?, ?)",
                             [(r.id, r.value if isinstance(r.value, str) else
                               r.value.isoformat()) for r in values])  # type: ignore[attr-defined]
    engine.dispose()
    return url


@pytest.mark.parametrize("kind", list(COLUMN))
def test_every_sqlite_row_lands_in_exactly_its_own_day(kind: str, tmp_path: Path) -> None:
    url = _sqlite(tmp_path, kind)
    values = rows("text" if kind == "timestamp" else kind)
    check_days(kind, values, lambda zone: source_resource(url, timezone=zone), tmp_path)


def test_a_midnight_without_fraction_is_not_the_day_before(tmp_path: Path) -> None:
    """The issue's case: 100 rows on one day, 10 of them at exactly 00:00:00."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    engine = sa.create_engine(url)
    day = dt.date(2026, 3, 2)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE b_timestamp (id INTEGER, v TIMESTAMP)")
        conn.exec_driver_sql("INSERT INTO b_timestamp VALUES (?, ?)", [
            (i, f"{day} 00:00:00" if i <= 10 else f"{day} {i % 24:02d}:{i % 60:02d}:00.5")
            for i in range(1, 101)])
    engine.dispose()
    pipeline = PipelineAssetConfig(name="b", table="b_timestamp", date_column="v")
    source = source_resource(url)
    days = ["2026-03-01", "2026-03-02"]
    by_day = {d: extracted_ids(pipeline, source, tmp_path / d, [d])[d] for d in days}
    assert by_day == {"2026-03-01": [], "2026-03-02": list(range(1, 101))}
    assert extracted_ids(pipeline, source, tmp_path / "range", days) == by_day
