"""The Dagster instance the ``etl`` command records runs in: ``$DAGSTER_HOME``.

Without ``DAGSTER_HOME`` the command uses ``.etl/dagster_home`` in the working directory, the
folder ``make demo`` and ``make dev`` use, so runs started from the command line show up in the
UI those start. Opening it first fails the runs an earlier ``etl`` process executed and died
in the middle of (:mod:`etl.runs.orphans`).

The home's ``dagster.yaml`` names the batching event log (:mod:`etl.instance.storage`) on the
stock class's files, so the command, the UI, the daemon and every run worker write a run's
per-day events in batches. A file without any storage settings gets the block appended (the
rest of the file, comments included, stays as it was); a file that names storages of its own
is left alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from etl.errors import UsageError
from etl.instance.storage import MODULE, SQLITE_CLASS, sqlite_event_log

DEFAULT_HOME = Path(".etl") / "dagster_home"
LOCAL_SETTINGS = "telemetry:\n  enabled: false\n"
STORAGE_KEYS = ("storage", "run_storage", "event_log_storage", "schedule_storage")
BLOCK_COMMENT = ("# etl: a run's per-day events are written in batches (etl.instance.storage),\n"
                 "# on the files Dagster's own SQLite event log uses.\n")


def dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(DEFAULT_HOME.resolve())))
    home.mkdir(parents=True, exist_ok=True)
    prepare(home)
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


def prepare(home: Path) -> bool:
    """Write or complete ``home/dagster.yaml``; True if the file changed."""
    settings = home / "dagster.yaml"
    current = settings.read_text(encoding="utf-8") if settings.exists() else None
    wanted = with_event_log(current if current is not None else LOCAL_SETTINGS, home)
    if wanted == current:
        return False
    staged = settings.with_name(f".dagster.yaml.{os.getpid()}")
    staged.write_text(wanted, encoding="utf-8")
    os.replace(staged, settings)  # readers see the old file or the new one, never half of one
    return True


def with_event_log(text: str, home: Path) -> str:
    """The settings ``text`` with the batching event log of ``home`` (unchanged if it names
    storages of its own, or is not a mapping)."""
    parsed: Any = yaml.safe_load(text) if text.strip() else {}
    if parsed is None:
        parsed = {}
    if not isinstance(parsed, dict):
        return text
    block = sqlite_event_log(home)
    if not any(key in parsed for key in STORAGE_KEYS):
        body = yaml.safe_dump({"event_log_storage": block}, sort_keys=False)
        return text + ("" if not text or text.endswith("\n") else "\n") + BLOCK_COMMENT + body
    ours: Any = parsed.get("event_log_storage")
    if _moved(ours, block):  # this home was moved or copied: its own files, not the old ones
        parsed["event_log_storage"] = {**ours, "config": {**ours["config"],
                                                          "base_dir": block["config"]["base_dir"]}}
        return yaml.safe_dump(parsed, sort_keys=False)
    return text


def _moved(found: Any, block: dict[str, Any]) -> bool:
    if not (isinstance(found, dict) and found.get("module") == MODULE
            and found.get("class") == SQLITE_CLASS and isinstance(found.get("config"), dict)):
        return False
    base_dir = str(found["config"].get("base_dir", ""))
    return base_dir != block["config"]["base_dir"] and base_dir.endswith(
        os.path.join("history", "runs"))


def unset_variables(settings: Path) -> list[str]:
    """The variables ``settings`` names with ``{env: NAME}`` that are not set here."""
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


if __name__ == "__main__":  # `make dev`: the home the UI serves, with its settings
    print(dagster_home())  # noqa: T201
