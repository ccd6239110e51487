"""The DuckDB connection a transfer runs on, and the rule for config-only transfer SQL.

A ``transfer.sql`` comes from a tenant's ``config.yaml``, which a tenant may edit without any
code review; DuckDB SQL can otherwise write files (``COPY ... TO``), read them
(``read_text('.env')``, another tenant's Parquet), ``ATTACH`` another tenant's warehouse and
change or load anything. Two locks, both DuckDB's own:

* at load, :func:`check_transfer_query` parses the text with DuckDB's parser and accepts exactly
  one ``SELECT`` (``WITH``, ``VALUES`` and ``FROM`` queries are selects too);
* at run time, :func:`transfer_connection` opens a connection with external access disabled
  (no file system, no ``ATTACH``, no ``INSTALL``/``LOAD``), no extension autoloading, no Python
  replacement scans (a query cannot read the worker's Python variables) and its configuration
  locked (no ``SET``), so it reaches only the relations registered on it: ``source``.

Python transfer functions get the same connection unless their pipeline sets
``transfer.allow_external_access: true``. Quality checks run tenant-written SQL expressions on
:func:`sandbox_connection`, locked the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import duckdb

SANDBOX_SETTINGS: Final[dict[str, Any]] = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "python_enable_replacements": False,
}
"""What a sandboxed connection may not do; ``lock_configuration`` then freezes it."""
TRANSFER_SETTINGS: Final[dict[str, Any]] = {"preserve_insertion_order": False}
"""Every transfer connection: order is restored by each transfer's own ``ORDER BY``."""
_SHOWN_SQL = 60
_SQL_LINE = re.compile(r"LINE (\d+):")
_INSTALL = re.compile(r"(?is)\s*(force\s+)?install\b")


class TransferSqlError(ValueError):
    """A ``transfer.sql`` that is not exactly one query; the message says what it is."""


@dataclass(frozen=True)
class Limits:
    """What one transfer's DuckDB may use: memory, and disk for its spill files there."""

    memory_limit: str
    max_temp_size: str
    temp_directory: str


def transfer_connection(*, allow_external_access: bool = False,
                        limits: Limits | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection, with the limits given, sandboxed unless the pipeline
    opted out.

    The limits are set before the sandbox: with external access disabled DuckDB no longer
    lets anyone choose its temporary folder, and the locked configuration keeps the transfer
    from raising them (a pipeline with ``allow_external_access`` could).
    """
    import duckdb

    settings: dict[str, Any] = dict(TRANSFER_SETTINGS)
    if limits is not None:
        settings |= {"memory_limit": limits.memory_limit,
                     "max_temp_directory_size": limits.max_temp_size,
                     "temp_directory": limits.temp_directory}
    con = duckdb.connect(config=settings)
    return con if allow_external_access else _locked(con)


def _locked(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """``con`` with the sandbox settings applied and its configuration locked."""
    try:
        for name, value in SANDBOX_SETTINGS.items():
            con.execute(f"SET {name} = {str(value).lower()}")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def check_transfer_query(sql: str) -> None:
    """Raise :class:`TransferSqlError` unless ``sql`` is exactly one SELECT, as DuckDB parses it."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        text = str(e)
        line = _SQL_LINE.search(text)
        where = f" (line {line.group(1)} of the SQL)" if line else ""
        raise TransferSqlError(
            f"is not valid DuckDB SQL{where}: {first_line(text)}; write one SELECT over 'source'"
        ) from None
    if len(statements) != 1:
        kinds = ", ".join(s.type.name for s in statements) or "none"
        raise TransferSqlError(
            f"must be exactly one SELECT or WITH query over 'source', but DuckDB reads "
            f"{len(statements)} statements ({kinds})"
        )
    (statement,) = statements
    if statement.type != duckdb.StatementType.SELECT:
        # DuckDB files INSTALL under LOAD; name the statement as the user wrote it.
        kind = "INSTALL" if _INSTALL.match(statement.query) else statement.type.name
        article = "an" if kind[0] in "AEIOU" else "a"
        raise TransferSqlError(
            f"is {article} {kind} statement ({shorten(statement.query)!r}); a "
            "transfer must be one SELECT or WITH query over 'source'"
        )


def first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0].strip() if stripped else ""


def shorten(sql: str) -> str:
    """One line of the statement, for messages."""
    flat = " ".join(sql.split())
    return flat if len(flat) <= _SHOWN_SQL else f"{flat[:_SHOWN_SQL - 3]}..."


def sandbox_connection(threads: int | None = None,
                       temp_directory: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection that reaches only the relations registered on it, settings
    locked (the quality checks' connection); it spills into ``temp_directory`` if given."""
    import duckdb

    settings: dict[str, Any] = dict(TRANSFER_SETTINGS)
    if threads is not None:
        settings["threads"] = threads
    if temp_directory is not None:
        settings["temp_directory"] = temp_directory
    return _locked(duckdb.connect(config=settings))
