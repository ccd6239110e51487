"""Arrow's memory allocator for extraction runs.

pyarrow's default pool here is mimalloc, which keeps freed batch memory mapped; jemalloc hands
it back sooner. On the 5M-row benchmark (bench/extract.py) the extractor reached the speed of
DuckDB's own COPY either way, with a lower peak RSS under jemalloc. ``etl/__init__.py`` sets
``ARROW_DEFAULT_MEMORY_POOL=jemalloc`` (unless the operator set it) before pyarrow is imported;
this switch covers processes that imported pyarrow before ``etl``. It is process-wide, so it is
made once, when a run first extracts, and never in a code location.
"""

from __future__ import annotations

import os
from functools import cache


@cache
def use_extraction_pool() -> str:
    """Switch the default Arrow pool to the configured one; returns the backend in use."""
    import pyarrow as pa

    wanted = os.environ.get("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    if pa.default_memory_pool().backend_name != wanted:
        factories = {"jemalloc": pa.jemalloc_memory_pool, "mimalloc": pa.mimalloc_memory_pool,
                     "system": pa.system_memory_pool}
        try:
            pa.set_memory_pool(factories[wanted]())
        except (KeyError, NotImplementedError, pa.ArrowNotImplementedError):
            pass  # unknown name, or a pyarrow built without it: keep the default
    return str(pa.default_memory_pool().backend_name)
