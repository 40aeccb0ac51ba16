"""Live tests: the kit against real servers (marked, e.g. ``@pytest.mark.postgres``)."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres: needs a PostgreSQL server (skipped without one, unless CI=true)"
    )
