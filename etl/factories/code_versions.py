"""Each asset's code version: a hash of everything that decides what that stage writes.

* extract: the pipeline's source fields (table or query, columns, date column), the source
  schema and the time zone that cuts days;
* transfer: the transfer itself (the SQL, or the source of the function and of the functions it
  calls in its own module or among the common transfers) and the fields it reads (primary key,
  date column);
* load: the warehouse kind and schema, the load mode and the drift policy.

Fields inherited from ``etl/common/pipelines.yaml`` are part of the merged pipeline, so they
count too. Nothing else does: a description, checks, freshness or batch size changes no data,
and the input of a stage is covered by its upstream's data version, not by its code version.
So a changed transfer changes exactly the transfer's version; Dagster then shows that asset
stale, and what it loads next stale in turn once it has been rerun.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Mapping
from functools import cache
from types import FunctionType
from typing import Any

from etl import naming
from etl.config.tenant_config import PipelineAssetConfig, TenantConfig

STAGE_REVISION: Mapping[naming.Stage, str] = {"extract": "1", "transfer": "1", "load": "1"}
"""Bump a stage's revision when the framework changes what that stage writes."""

EXTRACT_FIELDS = ("table", "query", "columns", "date_column", "partition_column")
TRANSFER_FIELDS = ("primary_key", "date_column")
LOAD_FIELDS = ("schema_drift", "partition_column")


def stage_code_versions(config: TenantConfig, pipeline: PipelineAssetConfig,
                        transfer: Callable[..., Any] | None) -> dict[naming.Stage, str]:
    """The code version of each stage the pipeline has."""
    out = {"extract": _digest("extract", _fields(pipeline, EXTRACT_FIELDS), {
        "db_schema": config.source.db_schema, "timezone": config.schedule.timezone})}
    if pipeline.has_transfer:
        ref = pipeline.transfer_ref
        code = ref.sql if ref.sql is not None else transfer_source(transfer)
        out["transfer"] = _digest("transfer", _fields(pipeline, TRANSFER_FIELDS),
                                  {"ref": ref.function, "code": code})
    if pipeline.save_to_trino:
        warehouse = config.warehouse
        mode = warehouse.effective_mode(pipeline.load_mode)
        out["load"] = _digest("load", _fields(pipeline, LOAD_FIELDS), {
            "kind": warehouse.type, "schema": config.warehouse_schema, "mode": mode})
    return out  # type: ignore[return-value]


def transfer_source(function: Callable[..., Any] | None) -> str:
    """The source of ``function`` and of every function it calls from its own module or from
    the common transfers, so editing a helper it uses changes its version too."""
    if function is None:
        return ""
    return _source(function)


@cache  # every tenant shares the common transfer: read its source once per process
def _source(function: Callable[..., Any]) -> str:
    seen: dict[str, str] = {}
    todo: list[FunctionType] = [function] if isinstance(function, FunctionType) else []
    while todo:
        func = todo.pop()
        name = f"{func.__module__}.{func.__qualname__}"
        if name in seen:
            continue
        try:
            seen[name] = inspect.getsource(func)
        except (OSError, TypeError):  # defined where no source is kept: its bytecode then
            seen[name] = func.__code__.co_code.hex()
        for ref in func.__code__.co_names:
            called = func.__globals__.get(ref)
            if isinstance(called, FunctionType) and _ours(called, function):
                todo.append(called)
    return "\n".join(seen[k] for k in sorted(seen))


def _ours(called: FunctionType, root: Callable[..., Any]) -> bool:
    from etl.common import transfer

    return called.__module__ in {getattr(root, "__module__", None), transfer.__name__}


def _fields(pipeline: PipelineAssetConfig, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(pipeline, n) for n in names}


def _digest(stage: naming.Stage, *parts: Mapping[str, Any]) -> str:
    body = json.dumps([STAGE_REVISION[stage], *parts], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]
