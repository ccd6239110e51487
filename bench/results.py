"""``bench/results.json``: one section per benchmark, each rewritten by its own run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results.json")


def update(section: str, data: Any) -> Path:
    """Replace ``section`` of the results file, keeping the other benchmarks' sections."""
    current: Any = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if isinstance(current, list):  # the file once held the extraction results alone
        current = {"extract": current}
    current[section] = data
    RESULTS.write_text(json.dumps(current, indent=2) + "\n")
    return RESULTS
