"""The statements a DuckDB warehouse write runs, to tell which way it went."""

from __future__ import annotations

import duckdb
import pytest

from etl.warehouse.duckdb_file import Counted


def record_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the warehouse's writes run from now on, in order."""
    seen: list[str] = []
    call = Counted.__call__

    def spy(self: Counted, sql: str, params: object = None) -> duckdb.DuckDBPyConnection:
        seen.append(sql)
        return call(self, sql, params)

    monkeypatch.setattr(Counted, "__call__", spy)
    return seen
