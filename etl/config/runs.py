"""The ``runs:`` block: how a tenant's runs are queued, retried and bounded in time.

These settings reach a deployment through the tenant's jobs (run tags the run queue, run
monitoring and run retries read) and through the step itself (retries of transient failures),
so a tenant needs no command on the instance to get them.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from etl.model.base import StrictModel


class RetryConfig(StrictModel):
    """Retries of a stage that failed for a transient reason, with exponential backoff."""

    attempts: int = Field(
        default=4, ge=1, le=20,
        description=(
            "Tries per stage (1: no retry) when it fails for a transient reason: a refused, "
            "reset or timed-out connection, S3 throttling or a 5xx, Trino unavailable. "
            "Authentication, a missing table or column and bad SQL are never retried."
        ),
    )
    initial_delay_s: float = Field(
        default=2.0, gt=0, le=600, description="Wait before the first retry, in seconds."
    )
    max_delay_s: float = Field(
        default=60.0, gt=0, le=3600,
        description="Longest wait between tries; each wait doubles up to it, with jitter.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> RetryConfig:
        if self.max_delay_s < self.initial_delay_s:
            raise ValueError("'max_delay_s' must be at least 'initial_delay_s'")
        return self


class RunsConfig(StrictModel):
    """Limits and retries of the tenant's runs in a deployment (``etl deploy``)."""

    max_concurrent: int = Field(
        default=1, ge=1, le=100,
        description=(
            "Runs of this tenant at once in the run queue (tag 'tenant'); the rest wait, so "
            "a backfill never crowds out the tenant's scheduled runs or hits its source twice."
        ),
    )
    max_retries: int = Field(
        default=1, ge=0, le=10,
        description="Re-runs of a run whose worker died (dagster/max_retries).",
    )
    max_runtime_s: int | None = Field(
        default=None, ge=60,
        description="Run monitoring fails a run still running after this many seconds.",
    )
    retry: RetryConfig = Field(default_factory=RetryConfig,
                               description="Retries of transient failures inside a stage.")
