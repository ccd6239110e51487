"""What a test does when something it needs is missing: fail under ``ETL_TEST_STRICT=1`` (CI,
where a missing dependency must never be silently green), skip otherwise."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

STRICT_ENV = "ETL_TEST_STRICT"


def missing(message: str) -> NoReturn:
    if os.environ.get(STRICT_ENV) == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(f"{message}; set {STRICT_ENV}=1 to make this a failure")
