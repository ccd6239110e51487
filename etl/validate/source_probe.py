"""``--connect`` for the source: connect, then plan every enabled pipeline's read.

Planning is what both readers do before any row moves (:func:`etl.sources.plan.plan_read`):
reflect the table (or describe the query) and check its columns and date column. So a missing
table, column or date column is reported here exactly as the run would report it, without
reading data.
"""

from __future__ import annotations

import sqlalchemy as sa

from etl.config.tenant_config import PipelineAssetConfig, TenantConfig
from etl.model.base import FieldProblem
from etl.sources.base import ExtractRequest
from etl.sources.dispatch import create_source_engine, resolve_url
from etl.sources.errors import SourceError, describe_db_error, where
from etl.sources.fingerprint import FingerprintSpec
from etl.sources.plan import plan_read
from etl.sources.row_filter import DayWindow
from etl.utils.logging import redact
from etl.utils.secrets import read_env_fields


def probe_source(config: TenantConfig, timeout_s: float) -> list[FieldProblem]:
    source = config.source
    found, problems = read_env_fields(source, "source", ("url_env", "password_env"))
    url_text = source.url if source.url is not None else found["url_env"]
    password = found["password_env"]
    if problems or url_text is None:
        return problems
    at = ("source", "url" if source.url is not None else "url_env")
    try:
        url = resolve_url(url_text, password)
        engine = create_source_engine(url, connect_timeout_s=max(1, round(timeout_s)))
    except (sa.exc.ArgumentError, SourceError, ValueError) as e:
        return [FieldProblem(at, redact(str(e), [password]))]
    try:
        try:
            engine.connect().close()
        except sa.exc.SQLAlchemyError as e:
            return [FieldProblem(at, (
                f"cannot connect to {where(url)}: {describe_db_error(e, password)}"))]
        return [
            FieldProblem(("assets", "pipelines", index), f"pipeline {p.name!r}: {problem}")
            for index, p in enumerate(config.assets.pipelines) if p.enabled
            if (problem := _plan_problem(engine, config, p, password))
        ]
    finally:
        engine.dispose()


def _plan_problem(engine: sa.Engine, config: TenantConfig, pipeline: PipelineAssetConfig,
                  password: str | None) -> str | None:
    day = config.schedule.start_date.isoformat()
    window = (DayWindow.of(pipeline.date_column, [day], config.schedule.timezone)
              if pipeline.date_column else None)
    request = ExtractRequest(
        table=pipeline.table, query=pipeline.query, columns=pipeline.columns,
        row_filter=window, batch_size=config.source.batch_size, db_schema=config.source.db_schema,
        fingerprint=FingerprintSpec(pipeline.fingerprint_columns) if window else None,
    )
    try:
        plan = plan_read(engine, request, password)
    except SourceError as e:
        return redact(str(e), [password])
    names = [c.name for c in plan.columns or ()]
    cursor = pipeline.cursor_column
    if cursor is not None and plan.columns is not None and cursor not in names:
        return f"cursor_column {cursor!r} is not a column of the source; it has {names}"
    return None

