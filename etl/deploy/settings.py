"""What a deployment decides beyond the tenants' own config: where the instance lives and the
limits every tenant shares.

The instance's PostgreSQL is named by environment variables only (``DAGSTER_PG_*``), like the
tenants' secrets, so the generated files hold no connection detail that could leak.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import Field

from etl.model.base import StrictModel

PG_ENV: Final = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_DB",
                 "DAGSTER_PG_PASSWORD")
PG_PASSWORD_ENV: Final = "DAGSTER_PG_PASSWORD"
DEFAULT_HOME: Final = Path(".etl") / "deploy"


class DeploymentSettings(StrictModel):
    """The instance-wide settings of ``dagster.yaml``; the tenants' limits come from them."""

    max_concurrent_runs: int = Field(
        default=10, ge=1, description="Runs at once across all tenants (the run queue).")
    dequeue_interval_s: int = Field(
        default=1, ge=1, description="How often the daemon looks at the run queue, in seconds.")
    start_timeout_s: int = Field(
        default=180, ge=10, description="Run monitoring fails a run not started by then.")
    monitor_interval_s: int = Field(
        default=10, ge=1, description="How often run monitoring checks running runs.")
    free_slots_after_s: int = Field(
        default=30, ge=1,
        description="Pool slots of a run that ended (or died) are freed after this long.")
    default_pool_limit: int = Field(
        default=1, ge=1, description="Limit of a concurrency pool no tenant configured.")
