"""The own suite's rule for a test that needs a real server (PostgreSQL, RabbitMQ)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str, *, then: str) -> NoReturn:
    """Skip with ``reason``; in CI (CI=true), where the server should run, fail instead,
    saying ``then`` (how the server is started)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}; {then}", pytrace=False)
    pytest.skip(reason)
