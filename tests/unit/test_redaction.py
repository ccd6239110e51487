"""Secrets never survive into messages."""

from __future__ import annotations

from etl.resources.rdb import SourceDatabaseResource
from etl.stages.step import StageFailure, StepInputs, _describe
from etl.utils.logging import redact
from etl.warehouse.trino import TrinoWarehouseConfig
from tests.helpers import storage_resource


def test_redact_masks_url_passwords_and_known_secrets() -> None:
    text = "could not connect to postgresql+psycopg://etl:pa55word@db:5432/mes (key AKIA1234567)"
    assert redact(text, ["AKIA1234567"]) == (
        "could not connect to postgresql+psycopg://etl:***@db:5432/mes (key ***)")


def test_a_short_password_is_masked_where_secrets_appear_and_nowhere_else() -> None:
    """The test servers' password is ``etl``, also the package's name: masking every ``etl``
    garbled paths and class names and hinted at the password."""
    trace = ('File "/tmp/etl/factories/pipeline_runner.py", line 3\n'
             "etl.warehouse.base.WarehouseError: table etl_orders failed")
    assert redact(trace, ["etl"]) == trace
    echoes = {
        "postgresql://etl:etl@db:5432/mes": "postgresql://etl:***@db:5432/mes",
        "host=db user=etl password=etl dbname=mes": "host=db user=etl password=*** dbname=mes",
        "host='db' password='etl' port=5432": "host='db' password=*** port=5432",
        "CREATE SECRET s (TYPE mysql, PASSWORD 'etl')":
            "CREATE SECRET s (TYPE mysql, PASSWORD '***')",
        'FATAL: password authentication failed for user "etl"':
            'FATAL: password authentication failed for user "***"',
        "IO Error: cannot open 'etl'": "IO Error: cannot open '***'",
    }
    for text, masked in echoes.items():
        assert redact(text, ["etl"]) == masked, text


def test_a_long_password_is_masked_anywhere_in_every_spelling() -> None:
    secret = "s3cr3t P@ss'wd"
    text = (f"tried {secret} then s3cr3t%20P%40ss%27wd and s3cr3t+P%40ss%27wd, "
            "and 's3cr3t P@ss''wd' in SQL")
    assert redact(text, [secret]) == "tried *** then *** and ***, and '***' in SQL"


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
