"""Secrets never survive into messages."""

from __future__ import annotations

from etl.common.assets.runner import StageFailure, StepInputs, _describe
from etl.resources.rdb import SourceDatabaseResource
from etl.utils.logging import redact
from etl.warehouse.trino import TrinoWarehouseConfig
from tests.helpers import storage_resource


def test_redact_masks_url_passwords_and_known_secrets() -> None:
    text = "could not connect to postgresql+psycopg://etl:pa55word@db:5432/mes (key AKIA123)"
    assert redact(text, ["AKIA123"]) == (
        "could not connect to postgresql+psycopg://etl:***@db:5432/mes (key ***)")


def test_stage_failures_mask_every_resource_secret() -> None:
    trino = TrinoWarehouseConfig(type="trino", host="trino").build_resource("t1")
    inputs = StepInputs(
        tenant="t1", days=None, selected=frozenset(),
        selected_checks=frozenset(),
        # A URL from url_env may carry its own password.
        source=SourceDatabaseResource(url="postgresql://etl:in-url-secret@db/mes",
                                      password="db-secret", db_schema=None, engine="auto",
                                      batch_size=1000, statement_timeout_s=None,
                                      timezone="UTC"),
        storage=storage_resource("s3://b/p", access_key="ak-secret", secret_key="sk-secret"),
        warehouse=trino.model_copy(update={"trino": trino.trino.model_copy(
            update={"password": "trino-secret"})}),
    )
    error = RuntimeError("auth failed for db-secret / sk-secret / ak-secret / in-url-secret / "
                         "trino-secret")
    message = _describe(inputs, StageFailure("orders", "extract", error))
    assert message == ("extract of t1/orders: RuntimeError: auth failed for *** / *** / *** / "
                       "*** / ***")
