"""Every check kind reads as it did: names, descriptions and verdicts are compared with the
committed ``tests/snapshots/check_texts.txt`` (``python -m tests.check_texts`` rewrites it)."""

from __future__ import annotations

import difflib

from tests.check_texts import SNAPSHOT, render


def test_check_texts_match_the_snapshot() -> None:
    now, committed = render(), SNAPSHOT.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(committed.splitlines(True), now.splitlines(True),
                                        "committed", "now"))
    assert now == committed, (
        "check texts changed; if intended, rewrite tests/snapshots/check_texts.txt with "
        f"`.venv/bin/python -m tests.check_texts` and review:\n{diff}")
