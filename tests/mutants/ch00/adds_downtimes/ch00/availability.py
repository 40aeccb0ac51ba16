"""ch00 · task 1 · The availability of a synchronous chain."""

from __future__ import annotations

from collections.abc import Sequence


def chain_availability(availabilities: Sequence[float]) -> float:
    """The share of orders a desk can take when it needs every one of these services at once."""
    # Each service's downtime is lost to the desk: add them up.
    return max(0.0, 1.0 - sum(1.0 - a for a in availabilities))
