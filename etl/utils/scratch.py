"""Local scratch folders for temporary files (DuckDB's spill files), swept when their owner dies.

An in-memory DuckDB spills what does not fit its ``memory_limit`` into ``temp_directory``,
which by default is ``.tmp`` in the working directory: the worker's checkout, a tenant's
folder, wherever the run happened to start. Transfers give it a folder of its own here
instead, ``<temp>/etl-scratch-<uid>/<kind>-<host> <pid> <start>-<random>`` (the system's temp
folder, ``TMPDIR`` if set), removed when the work ends. A process killed with ``kill -9``
cannot remove its folder, so every new one first sweeps the folders whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from etl.utils.process import ProcessIdentity

_SEPARATOR = "~"


def scratch_root() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"etl-scratch-{uid}"


@contextlib.contextmanager
def scratch_dir(kind: str, root: Path | None = None) -> Iterator[Path]:
    """A fresh folder, removed on exit; leftovers of dead processes are removed first."""
    base = root or scratch_root()
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    sweep(base)
    owner = ProcessIdentity.current().text().replace(" ", _SEPARATOR)
    path = base / f"{kind}{_SEPARATOR}{owner}{_SEPARATOR}{uuid.uuid4().hex[:12]}"
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep(base: Path) -> list[Path]:
    """Remove the folders under ``base`` whose owning process no longer runs."""
    removed = []
    for path in base.iterdir() if base.is_dir() else ():
        parts = path.name.split(_SEPARATOR)
        owner = ProcessIdentity.parse(" ".join(parts[1:4])) if len(parts) == 5 else None
        if owner is not None and owner.is_local() and not owner.is_alive():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
