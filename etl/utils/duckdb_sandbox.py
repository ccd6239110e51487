"""A DuckDB connection that can read only what it is handed: no files, no network.

Quality checks run tenant-written SQL expressions; on this connection such an expression can
see the relations registered on it (the day's rows, as an Arrow dataset) and nothing else:
``read_csv``, ``COPY``, ``ATTACH``, ``INSTALL`` and secrets all fail, and the settings are locked
so no statement can turn access back on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

LOCKED_SETTINGS: dict[str, Any] = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "preserve_insertion_order": False,
    "lock_configuration": True,
}


def sandbox_connection(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection without external access, its settings locked."""
    import duckdb

    settings = dict(LOCKED_SETTINGS)
    if threads is not None:
        settings["threads"] = threads
    return duckdb.connect(config=settings)
