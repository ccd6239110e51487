"""Arrow's memory allocator for extraction runs.

pyarrow's default pool here is mimalloc, which keeps freed batch memory mapped; jemalloc hands
it back sooner. On the 5M-row benchmark (bench/extract.py) the extractor ran at the speed of
DuckDB's own COPY with jemalloc (1.47M rows/s, ~250 MiB peak) against ~1.09M rows/s and
~270 MiB with the default. The pool is process-wide, so it is chosen once, when a run first
extracts, and never in a code location. ``ARROW_DEFAULT_MEMORY_POOL`` set by the operator wins.
"""

from __future__ import annotations

import os
from functools import cache


@cache
def use_extraction_pool() -> str:
    """Switch the default Arrow pool to jemalloc where available; returns the backend used."""
    import pyarrow as pa

    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        except (NotImplementedError, pa.ArrowNotImplementedError):
            pass  # a pyarrow built without jemalloc keeps its default
    return str(pa.default_memory_pool().backend_name)
