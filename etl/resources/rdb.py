"""The tenant's application database as a Dagster resource.

The password is a separate field fed by ``dg.EnvVar`` so it is read only when a run starts,
is masked by Dagster, and never becomes part of a URL that could be logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

if TYPE_CHECKING:
    import pyarrow as pa

    from etl.sources import ExtractRequest


class SourceDatabaseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Streams tables and queries out of one tenant's source database."""

    url: str = Field(description="SQLAlchemy URL without a password.")
    password: str | None = Field(default=None, json_schema_extra={"dagster__is_secret": True})
    db_schema: str | None = None
    engine: str = "auto"
    batch_size: int = 25_000
    timezone: str = "UTC"

    @contextmanager
    def read(self, request: ExtractRequest) -> Iterator[pa.RecordBatchReader]:
        # Readers pull in SQLAlchemy, pyarrow and DuckDB: imported when a run reads, not when a
        # code location loads.
        from etl.sources import open_reader
        from etl.sources.dispatch import resolve_url

        with open_reader(resolve_url(self.url, self.password), request, self.engine) as reader:
            yield reader
