"""The tenant's application database as a Dagster resource.

The password is a separate field fed by ``dg.EnvVar`` so it is read only when a run starts,
is masked by Dagster, and never becomes part of a URL that could be logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import dagster as dg
from pydantic import Field

from etl.config.source import SourceConfig, SourceEngine
from etl.utils.secrets import secret_field

if TYPE_CHECKING:
    import pyarrow as pa

    from etl.sources.base import ExtractRequest
    from etl.sources.dispatch import ReadSession
    from etl.sources.fingerprint import Fingerprints
    from etl.utils.live_work import LiveWork


class SourceDatabaseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Streams tables and queries out of one tenant's source database."""

    url: str = Field(description="SQLAlchemy URL without a password (or the whole url_env URL).")
    password: str | None = secret_field("Database password.")
    db_schema: str | None = Field(description="Schema of unqualified tables.")
    engine: SourceEngine = Field(description="Which reader moves the rows.")
    batch_size: int = Field(description="Rows per Arrow batch.")
    statement_timeout_s: float | None = Field(
        description="Seconds a source query may run (None: no limit).")
    read_timeout_s: float = Field(
        default=300, description="Seconds a read may wait for the source to answer.")
    timezone: str = Field(description="The tenant's zone: a day is midnight to midnight there.")

    @classmethod
    def from_config(cls, config: SourceConfig, timezone: str) -> SourceDatabaseResource:
        url: Any = config.url if config.url is not None else dg.EnvVar(config.url_env or "")
        return cls(
            url=url,
            password=dg.EnvVar(config.password_env) if config.password_env else None,
            db_schema=config.db_schema,
            engine=config.engine,
            batch_size=config.batch_size,
            statement_timeout_s=config.statement_timeout_s,
            read_timeout_s=config.read_timeout_s,
            timezone=timezone,
        )

    def derived_secrets(self) -> list[str]:
        """A URL from ``url_env`` may carry its own password."""
        password = urlsplit(self.url).password if isinstance(self.url, str) else None
        return [password] if password else []

    @contextmanager
    def read(self, request: ExtractRequest,
             live: LiveWork | None = None) -> Iterator[pa.RecordBatchReader]:
        # Readers pull in SQLAlchemy, pyarrow and DuckDB: imported when a run reads, not when a
        # code location loads.
        from etl.sources.dispatch import open_reader, resolve_url

        with open_reader(resolve_url(self.url, self.password), request, self.engine,
                         live) as reader:
            yield reader

    @contextmanager
    def session(self, live: LiveWork | None = None) -> Iterator[ReadSession]:
        """Reads one after the other on one reflection and DuckDB connection (the scans of a
        range); ``live`` can interrupt any of them (the step is being stopped)."""
        from etl.sources.dispatch import ReadSession, resolve_url

        with ReadSession(resolve_url(self.url, self.password), self.engine,
                         self.statement_timeout_s, live) as session:
            yield session

    def fingerprints(self, request: ExtractRequest,
                     live: LiveWork | None = None) -> Fingerprints:
        """Each day's fingerprint of the request's window at the source now."""
        from etl.sources.dispatch import resolve_url, take_fingerprints

        return take_fingerprints(resolve_url(self.url, self.password), request, live)

    def check(self, request: ExtractRequest, live: LiveWork | None = None) -> None:
        """Fail now if the read cannot be planned or a row of it would not fit its type."""
        from etl.sources.dispatch import check_values, resolve_url

        check_values(resolve_url(self.url, self.password), request, live)
