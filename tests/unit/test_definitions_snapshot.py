"""Every asset key, check, job, schedule and partitions definition of the sample tenants and
``etl.all``, compared with the committed snapshot (``python -m tests.snapshot`` rewrites it)."""

from __future__ import annotations

import difflib

from tests.snapshot import SNAPSHOT, render


def test_definitions_match_the_snapshot() -> None:
    expected = SNAPSHOT.read_text(encoding="utf-8")
    actual = render()
    diff = "\n".join(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                          "committed", "built", lineterm=""))
    assert actual == expected, (
        f"definitions differ from {SNAPSHOT.name}; if intended, run "
        f"`.venv/bin/python -m tests.snapshot` and review:\n{diff}"
    )
