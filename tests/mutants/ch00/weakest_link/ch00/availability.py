"""ch00 · task 1 · The availability of a synchronous chain."""

from __future__ import annotations

from collections.abc import Sequence


def chain_availability(availabilities: Sequence[float]) -> float:
    """The share of orders a desk can take when it needs every one of these services at once."""
    # A chain is as strong as its weakest link.
    return min(availabilities, default=1.0)
