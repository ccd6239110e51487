"""SQL text pieces shared by DuckDB and Trino, for the places that take no parameters."""

from __future__ import annotations


def quote(identifier: str) -> str:
    """A double-quoted identifier (ANSI: DuckDB, Trino, PostgreSQL)."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A single-quoted string literal (procedure arguments, DDL options)."""
    return "'" + value.replace("'", "''") + "'"
