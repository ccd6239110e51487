"""The sample manufacturing application database (an MES) that every tenant runs.

Defined with SQLAlchemy Core so the same tables are created on SQLite (the embedded default),
PostgreSQL and MariaDB, and filled with deterministic rows so counts can be checked exactly.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

metadata = sa.MetaData()

work_order = sa.Table(
    "work_order", metadata,  # comments: PostgreSQL and MySQL keep them, SQLite has none
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("order_no", sa.String(32), nullable=False, comment="Order number on the traveller"),
    sa.Column("item_code", sa.String(32), nullable=False),
    sa.Column("line_code", sa.String(16), nullable=False),
    sa.Column("planned_qty", sa.Integer, nullable=False, comment="Units planned"),
    sa.Column("status", sa.String(16), nullable=False,
              comment="RELEASED, RUNNING, DONE or HOLD"),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
)

production_result = sa.Table(
    "production_result", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("work_order_id", sa.BigInteger, nullable=False),
    sa.Column("item_code", sa.String(32), nullable=False),
    sa.Column("line_code", sa.String(16), nullable=False),
    sa.Column("produced_qty", sa.Integer, nullable=False),
    sa.Column("defect_qty", sa.Integer, nullable=False, comment="Units rejected"),
    sa.Column("unit_cost", sa.Numeric(12, 4), nullable=True),
    sa.Column("produced_at", sa.DateTime, nullable=False, index=True),
)

quality_inspection = sa.Table(
    "quality_inspection", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("production_result_id", sa.BigInteger, nullable=False),
    sa.Column("inspector", sa.String(32), nullable=False),
    sa.Column("result", sa.String(8), nullable=False),
    sa.Column("measured_value", sa.Numeric(10, 3), nullable=True),
    sa.Column("inspected_at", sa.DateTime, nullable=False, index=True),
)

cfg_item_master = sa.Table(
    "CFG_ITEM_MASTER", metadata,
    sa.Column("ITEM_CODE", sa.String(32), primary_key=True),
    sa.Column("ITEM_NAME", sa.String(64), nullable=False),
    sa.Column("ITEM_TYPE", sa.String(16), nullable=False),
    sa.Column("UNIT", sa.String(8), nullable=False),
    sa.Column("STD_COST", sa.Numeric(12, 4), nullable=False),
    sa.Column("IS_ACTIVE", sa.Boolean, nullable=False),
    sa.Column("UPDATED_AT", sa.DateTime, nullable=False),
)

ITEM_TYPES = ("RAW", "SEMI", "FINISHED")
LINES = ("L1", "L2", "L3", "L4")
STATUSES = ("RELEASED", "RUNNING", "DONE", "HOLD")


@dataclass(frozen=True)
class SeedSummary:
    """Rows written per table and per day, for checking what the pipelines moved."""

    per_day: dict[str, dict[str, int]]
    items: int

    def rows(self, table: str, day: str | None = None) -> int:
        if day is None:
            return sum(self.per_day[table].values())
        return self.per_day[table].get(day, 0)


def item_codes(count: int) -> list[str]:
    return [f"ITM-{i:05d}" for i in range(1, count + 1)]


def seed(
    engine: sa.Engine,
    days: Sequence[dt.date],
    orders_per_day: int = 40,
    items: int = 50,
    seed_value: int = 7,
) -> SeedSummary:
    """(Re)create the sample tables and fill them for ``days``; deterministic for a seed."""
    rng = random.Random(seed_value)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    codes = item_codes(items)
    per_day: dict[str, dict[str, int]] = {
        "work_order": {}, "production_result": {}, "quality_inspection": {},
    }
    with engine.begin() as conn:
        conn.execute(cfg_item_master.insert(), list(_items(rng, codes)))
        ids = _Ids()
        for day in days:
            orders, results, inspections = _day(rng, day, codes, orders_per_day, ids)
            for table, rows in (
                (work_order, orders), (production_result, results),
                (quality_inspection, inspections),
            ):
                if rows:
                    conn.execute(table.insert(), rows)
                per_day[table.name][day.isoformat()] = len(rows)
    return SeedSummary(per_day=per_day, items=len(codes))


class _Ids:
    def __init__(self) -> None:
        self.order = self.result = self.inspection = 0


def _items(rng: random.Random, codes: list[str]) -> Iterator[dict[str, object]]:
    for i, code in enumerate(codes):
        yield {
            "ITEM_CODE": code,
            "ITEM_NAME": f"Part {i + 1}",
            "ITEM_TYPE": ITEM_TYPES[i % len(ITEM_TYPES)],
            "UNIT": "EA" if i % 4 else "KG",
            "STD_COST": Decimal(rng.randint(100, 999_999)) / Decimal(100),
            "IS_ACTIVE": i % 10 != 0,
            "UPDATED_AT": dt.datetime(2026, 1, 1, 9, 0, 0),
        }


def _day(
    rng: random.Random, day: dt.date, codes: list[str], count: int, ids: _Ids
) -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    orders, results, inspections = [], [], []
    midnight = dt.datetime.combine(day, dt.time())
    for _ in range(count):
        ids.order += 1
        created = midnight + dt.timedelta(seconds=rng.randint(0, 86_399))
        item, line = rng.choice(codes), rng.choice(LINES)
        planned = rng.randint(10, 500)
        orders.append({
            "id": ids.order, "order_no": f"WO-{day:%Y%m%d}-{ids.order:06d}", "item_code": item,
            "line_code": line, "planned_qty": planned, "status": rng.choice(STATUSES),
            "due_date": day + dt.timedelta(days=rng.randint(1, 14)), "created_at": created,
        })
        for _ in range(rng.randint(1, 3)):
            ids.result += 1
            produced_at = midnight + dt.timedelta(seconds=rng.randint(0, 86_399))
            produced = rng.randint(1, planned)
            results.append({
                "id": ids.result, "work_order_id": ids.order, "item_code": item,
                "line_code": line, "produced_qty": produced,
                "defect_qty": rng.randint(0, produced // 10),
                "unit_cost": None if rng.random() < 0.05
                else Decimal(rng.randint(1_000, 9_999_999)) / Decimal(10_000),
                "produced_at": produced_at,
            })
            if rng.random() < 0.7:
                ids.inspection += 1
                inspections.append({
                    "id": ids.inspection, "production_result_id": ids.result,
                    "inspector": f"QC{rng.randint(1, 9)}",
                    "result": "PASS" if rng.random() < 0.93 else "FAIL",
                    "measured_value": Decimal(rng.randint(0, 999_999)) / Decimal(1000),
                    "inspected_at": produced_at + dt.timedelta(seconds=rng.randint(0, 600))
                    if produced_at.time() < dt.time(23, 50) else produced_at,
                })
    return orders, results, inspections
