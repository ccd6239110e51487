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
    from etl.runs.orphans import fail_orphaned_runs

    dagster_home()
    opened = dg.DagsterInstance.get()
    fail_orphaned_runs(opened, sys.stderr)
    return opened
