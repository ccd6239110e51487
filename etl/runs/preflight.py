"""What must hold before a run starts here: every variable the tenant's config names is set.

A run that starts without one fails inside Dagster's resource set-up with a long traceback; the
command checks first and says, in one line per variable, which field names which variable and
where it is written. Values are never read into a message, only whether they are set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from etl.config.config_loader import LoadedTenant
from etl.config.errors import ConfigError
from etl.model.env_vars import env_fields

RUN_BLOCKS = ("source", "storage", "warehouse")
"""The blocks whose variables a run reads (alerts' are read by the sensors that send them)."""


def check_variables(loaded: LoadedTenant, environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`ConfigError` naming every variable a run needs that is not set."""
    env = os.environ if environ is None else environ
    issues = [
        loaded.issue(at, (
            f"names the environment variable {name}, which is not set; set it in the "
            "environment or in .env in the working directory (see .env.example)"))
        for at, name in env_fields(loaded.config) if at[0] in RUN_BLOCKS and not env.get(name)
    ]
    if issues:
        raise ConfigError(loaded.tenant_id, issues)
