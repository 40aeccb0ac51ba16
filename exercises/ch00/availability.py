"""ch00 · task 1 · The availability of a synchronous chain."""

from __future__ import annotations

from collections.abc import Sequence


def chain_availability(availabilities: Sequence[float]) -> float:
    """The share of orders a desk can take when it needs every one of these services at once.

    ``availabilities`` holds, for each service the desk calls synchronously,
    the share of the time it is up (0.99: up 99 % of the time). The services
    fail independently of one another. The desk takes an order only if all of
    them are up when the order arrives.

    Promise: the result is the probability that every service is up at once,
    a number from 0 to 1. The harness checks it against the share of orders a
    synchronous desk really accepts in the simulation.
    """
    raise NotImplementedError(
        "TODO(ch00.1): return the probability that every service of the chain is up at once"
    )
