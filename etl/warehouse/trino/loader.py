"""The Trino loader: Parquet on S3 as Hive external tables behind a view (:mod:`.external`) or
Iceberg tables (:mod:`.iceberg`), chosen per pipeline; users see the same column types in both
(:mod:`.types`).

Both modes replace exactly the days of a load (or a master table) with a number of statements
that does not grow with the number of days, and tolerate parallel loads: creating schemas and
tables survives losing the race, each Iceberg load has its own staging table, and a conflicting
Iceberg commit is retried. Timestamps are pinned to microseconds and UTC on the server
(``hive.timestamp-precision``, ``hive.parquet.time-zone``); the S3 endpoint and keys are
catalog properties, not ours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from etl.naming import PARTITION_COLUMN
from etl.warehouse.base import (
    LoadMode,
    LoadRequest,
    LoadResult,
    MergeRequest,
    MergeResult,
    WarehouseError,
    check_no_partition_column,
)
from etl.warehouse.trino.catalog import TrinoTarget, checked_days
from etl.warehouse.trino.external import load_external
from etl.warehouse.trino.iceberg import load_iceberg
from etl.warehouse.trino.iceberg_merge import merge_iceberg
from etl.warehouse.trino.session import TrinoSession
from etl.warehouse.trino.types import check_name


class TrinoWarehouse:
    """Loads into ``<catalog>.<schema>`` (external) or ``<iceberg_catalog>.<schema>``."""

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        address: str,
        catalog: str,
        iceberg_catalog: str,
        schema: str,
        default_mode: LoadMode,
        secrets: tuple[str | None, ...] = (),
    ) -> None:
        self._connect = connect
        self.address = address
        self.target = TrinoTarget(
            catalog=check_name("catalog", catalog),
            iceberg_catalog=check_name("catalog", iceberg_catalog),
            schema=check_name("schema", schema),
        )
        self.default_mode = default_mode
        self._secrets = secrets

    def session(self) -> TrinoSession:
        return TrinoSession(self._connect, self.address, self._secrets)

    def load(self, request: LoadRequest) -> LoadResult:
        mode = request.mode or self.default_mode
        check_name("table", request.table)
        check_no_partition_column(request)
        with self.session() as s:
            if mode == "external":
                added = load_external(s, self.target, request)
            else:
                added = load_iceberg(s, self.target, request)
            if request.days is None:
                rows, by_day = self.target.count_all(s, mode, request.table), {}
            else:
                by_day = self.target.count_days(s, mode, request.table,
                                                checked_days(request.days),
                                                request.partition_column)
                rows = sum(by_day.values())
            return LoadResult(table=self.target.display(mode, request.table), rows=rows,
                              rows_by_day=by_day, added_columns=added, statements=s.statements)

    def merge(self, request: MergeRequest) -> MergeResult:
        """Iceberg only: external tables are the lake's files, not rows to update by key."""
        check_name("table", request.table)
        if (request.mode or self.default_mode) != "iceberg":
            raise WarehouseError(f"table {request.table}: an incremental pipeline merges into "
                                 "Iceberg tables only; set load_mode: iceberg")
        with self.session() as s:
            return merge_iceberg(s, self.target, request)

    def count_days(self, table: str, days: Sequence[str], mode: LoadMode | None,
                   partition_column: str = PARTITION_COLUMN) -> dict[str, int]:
        with self.session() as s:
            return self.target.count_days(s, mode or self.default_mode, check_name("table", table),
                                          checked_days(days), partition_column)

    def count_all(self, table: str, mode: LoadMode | None) -> int:
        with self.session() as s:
            return self.target.count_all(s, mode or self.default_mode, check_name("table", table))
