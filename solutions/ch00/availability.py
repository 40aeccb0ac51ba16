"""ch00 · task 1 · The availability of a synchronous chain."""

from __future__ import annotations

import math
from collections.abc import Sequence


def chain_availability(availabilities: Sequence[float]) -> float:
    """The share of orders a desk can take when it needs every one of these services at once.

    Promise: the result is the probability that every service is up at once,
    a number from 0 to 1.
    """
    # Independent services: all up at once is the product; an empty chain never fails (1.0).
    return float(math.prod(availabilities))
