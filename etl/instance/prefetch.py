"""Reads Dagster makes one asset at a time, answered for many assets from one query.

The UI's partition bar and ``etl status`` read each asset's partition status through Dagster's
status cache (``get_and_update_asset_status_cache_value``), which asks the storage for the
asset's latest planned materialization, one query per asset, and whether the asset table has
its cache column, one schema read per asset. Over a fleet of 900 assets those were a third of
``etl status``'s reading. The storages of the project answer both from memory where they can:

* :meth:`PrefetchedReads.planned_prefetched` reads the latest planned materialization of many
  assets in one query (after each one's last wipe, as Dagster's own read) and answers
  ``get_latest_planned_materialization_info`` for them from it, in this thread, until the block
  ends; any other asset or a partition's planned event is read as before;
* a column of the asset table, once seen, is remembered: a column is never dropped while a
  process runs (``dagster instance migrate`` only adds them).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import dagster as dg
import sqlalchemy as sa

from etl.instance.newest import chunks, newest_ids
from etl.instance.private import (
    PlannedMaterializationInfo,
    SqlEventLogStorage,
    SqlEventLogStorageTable,
)


class PrefetchedReads:
    """Mixed into the project's SQL event logs, before Dagster's class."""

    _prefetch: threading.local
    _columns_seen: set[str]

    def _init_prefetch(self) -> None:
        self._prefetch = threading.local()
        self._columns_seen = set()

    @contextmanager
    def planned_prefetched(self, keys: Iterable[dg.AssetKey]) -> Iterator[None]:
        storage = self._sql()
        wanted = list(dict.fromkeys(keys))
        newest = {key: storage_id for (key, _), storage_id in newest_ids(
            storage, wanted, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED).items()}
        run_ids: dict[int, str] = {}
        table = SqlEventLogStorageTable
        for chunk in chunks(sorted(newest.values())):
            with storage.index_connection() as conn:
                rows = conn.execute(sa.select(table.c.id, table.c.run_id)
                                    .where(table.c.id.in_(chunk))).all()
            run_ids.update((int(storage_id), run_id) for storage_id, run_id in rows)
        known = {key: PlannedMaterializationInfo(storage_id=newest[key],
                                                 run_id=run_ids[newest[key]])
                 if key in newest else None for key in wanted}
        previous = getattr(self._prefetch, "planned", None)
        self._prefetch.planned = known
        try:
            yield
        finally:
            self._prefetch.planned = previous

    def get_latest_planned_materialization_info(
            self, asset_key: dg.AssetKey, partition: str | None = None
    ) -> PlannedMaterializationInfo | None:
        known = getattr(self._prefetch, "planned", None)
        if partition is None and known is not None and asset_key in known:
            return known[asset_key]  # type: ignore[no-any-return]
        return super().get_latest_planned_materialization_info(  # type: ignore[misc, no-any-return]
            asset_key, partition)

    def has_asset_key_col(self, column_name: str) -> bool:
        if column_name in self._columns_seen:
            return True
        found: bool = super().has_asset_key_col(column_name)  # type: ignore[misc]
        if found:
            self._columns_seen.add(column_name)
        return found

    def _sql(self) -> SqlEventLogStorage:
        assert isinstance(self, SqlEventLogStorage)
        return self


def planned_prefetched(instance: dg.DagsterInstance,
                       keys: Sequence[dg.AssetKey]) -> AbstractContextManager[Any]:
    """The instance's storage answers ``keys``' latest planned materializations from one
    query within the block (a storage that cannot: as before)."""
    storage = instance.event_log_storage
    if isinstance(storage, PrefetchedReads):
        return storage.planned_prefetched(keys)
    return nullcontext()
