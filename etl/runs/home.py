"""The Dagster instance the ``etl`` command records runs in: ``$DAGSTER_HOME``.

Without ``DAGSTER_HOME`` the command uses ``.etl/dagster_home`` in the working directory, the
folder ``make demo`` and ``make dev`` use, so runs started from the command line show up in the
UI those start. Opening it first fails the runs an earlier ``etl`` process executed and died
in the middle of (:mod:`etl.runs.orphans`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg

from etl.errors import UsageError

DEFAULT_HOME = Path(".etl") / "dagster_home"
LOCAL_SETTINGS = "telemetry:\n  enabled: false\n"


def dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(DEFAULT_HOME.resolve())))
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text(LOCAL_SETTINGS, encoding="utf-8")
    return home


def instance() -> dg.DagsterInstance:
    home = dagster_home()
    missing = unset_variables(home / "dagster.yaml")
    if missing:
        raise UsageError(
            f"the instance in {home} reads {', '.join(missing)} from the environment (its "
            f"dagster.yaml), and they are not set: set them as for `etl deploy up` (the "
            "deployment's PostgreSQL), or point DAGSTER_HOME elsewhere")
    from etl.runs.orphans import fail_orphaned_runs

    opened = dg.DagsterInstance.get()
    fail_orphaned_runs(opened, sys.stderr)
    return opened


def unset_variables(settings: Path) -> list[str]:
    """The variables ``settings`` names with ``{env: NAME}`` that are not set here."""
    import yaml

    if not settings.is_file():
        return []
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if set(node) == {"env"} and isinstance(node["env"], str):
                found.append(node["env"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(settings.read_text(encoding="utf-8")))
    return sorted({name for name in found if not os.environ.get(name)})
