"""Running a custom query with ``LIMIT 0``: its result description, without any row.

Tables are reflected, but a query has no catalog entry. The driver's description of an empty
result names each column with a type code, which the dialect turns into a SQLAlchemy type so
:func:`etl.sources.arrow_types.column_type` decides a query's columns exactly as a table's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class Description:
    description: Any  # the DB-API cursor.description
    fields: Any  # pymysql's per-field details (flags, charset), None elsewhere


def describe_query(conn: sa.Connection, sql: str) -> Description:
    result = conn.execute(sa.text(f"SELECT * FROM ({escape_colons(sql)}) AS q LIMIT 0"))
    try:
        cursor: Any = result.cursor
        fields = getattr(getattr(cursor, "_result", None), "fields", None)
        return Description(cursor.description, fields)
    finally:
        result.close()


def escape_colons(sql: str) -> str:
    """Stop SQLAlchemy's ``text()`` reading ``'10:30'`` or ``x::int`` as bind parameters."""
    return sql.replace(":", "\\:")
