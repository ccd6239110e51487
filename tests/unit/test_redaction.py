"""Secrets never survive into messages."""

from __future__ import annotations

from etl.factories.pipeline_runner import StageFailure, StepInputs, _describe
from etl.resources.rdb import SourceDatabaseResource
from etl.resources.s3 import StorageResource
from etl.utils.logging import redact


def test_redact_masks_url_passwords_and_known_secrets() -> None:
    text = "could not connect to postgresql+psycopg://etl:pa55word@db:5432/mes (key AKIA123)"
    assert redact(text, ["AKIA123"]) == (
        "could not connect to postgresql+psycopg://etl:***@db:5432/mes (key ***)")


def test_stage_failures_mask_every_resource_secret() -> None:
    inputs = StepInputs(
        tenant="t1", partition_key="2026-03-01", selected=frozenset(),
        selected_checks=frozenset(),
        source=SourceDatabaseResource(url="postgresql://etl:in-url-secret@db/mes",
                                      password="db-secret"),
        storage=StorageResource(root="s3://b/p", access_key="ak-secret", secret_key="sk-secret"),
        warehouse=None,
    )
    error = RuntimeError("auth failed for db-secret / sk-secret / ak-secret / in-url-secret")
    message = _describe(inputs, StageFailure("orders", "extract", error))
    assert message == "extract of t1/orders: RuntimeError: auth failed for *** / *** / *** / ***"
