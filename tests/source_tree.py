"""The package's source as syntax trees, for the tests that read the code itself.

Parsed with the garbage collector paused: CPython 3.11's parser fails with "AST constructor
recursion depth mismatch" when a collection runs a finalizer in the middle of a parse (a
database driver's result object left behind by an earlier test did, in a full run).
"""

from __future__ import annotations

import ast
import functools
import gc
from pathlib import Path


def parse(path: Path) -> ast.Module:
    return _parse(path.resolve(), path.stat().st_mtime_ns)


@functools.cache
def _parse(path: Path, mtime_ns: int) -> ast.Module:
    text = path.read_text(encoding="utf-8")
    collecting = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(text)
    finally:
        if collecting:
            gc.enable()
