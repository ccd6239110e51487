"""A size as DuckDB reads its settings (``memory_limit``, ``max_temp_directory_size``):
``512MB``, ``4GB``, ``1.5GiB``. One rule for every config field that holds one, and its value
in bytes for the limits the framework enforces itself."""

from __future__ import annotations

import re
from typing import Final

_SIZE: Final = re.compile(r"^([0-9]+(?:\.[0-9]+)?) ?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
_UNITS: Final = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
                 "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def checked_size(value: str, example: str) -> str:
    """``value`` if it is a size; otherwise a ``ValueError`` saying how to write one."""
    if not _SIZE.match(value):
        raise ValueError(f"not a size; write a number and a unit, e.g. {example}")
    return value


def size_bytes(size: str) -> int:
    """A checked size in bytes (KB = 1000, KiB = 1024, as DuckDB counts them)."""
    found = _SIZE.match(size)
    if found is None:
        raise ValueError(f"not a size: {size!r}")
    return int(float(found.group(1)) * _UNITS[found.group(2)])
