"""ch07 · tasks 3 and 4 · A desk that backs off when the broker refuses, and pauses when full."""

from __future__ import annotations

from collections import deque  # noqa: F401
from typing import Any

from harness.workloads.flash_sale import PublishBlocked, Publisher, PublishRefused, Timer  # noqa: F401
from harness.workloads.payments_service import Jitter


class OrderIntake:
    """Takes orders from customers and publishes them, never drowning the broker or itself.

    Promise: an accepted order is published, however long the broker refuses
    (a full queue nacks, a memory alarm blocks): the desk keeps it and tries
    again after a growing wait, never at once; it holds at most ``high`` orders
    not yet confirmed: from ``high`` it answers "busy", until it is back at
    ``low``, then takes orders again.

    ``self.publisher.publish(message_id, body)`` raises ``PublishRefused`` (and
    ``PublishBlocked``, one of its kind) when nothing was published;
    ``self.timer.call_later(delay, callback)`` calls back later;
    ``self.random.uniform(a, b)`` draws from the world's seeded random.
    """

    def __init__(
        self,
        publisher: Publisher,
        timer: Timer,
        random: Jitter,
        *,
        high: int = 20,
        low: int = 10,
        base: float = 0.010,
        cap: float = 0.160,
    ) -> None:
        self.publisher = publisher
        self.timer = timer
        self.random = random
        self.high = high
        self.low = low
        self.base = base
        self.cap = cap

    def take(self, message_id: str, order: dict[str, Any]) -> bool:
        """Accept ``order`` (True) or turn it away (False: the customer is told to retry)."""
        raise NotImplementedError(
            "TODO(ch07.4): answer False from reaching high orders held until back at low; "
            "otherwise keep the order and publish it (TODO(ch07.3))"
        )

    def flush(self) -> None:
        """Publish what the desk holds, oldest first, until the broker refuses one."""
        raise NotImplementedError(
            "TODO(ch07.3): publish the held orders oldest first, forget each once confirmed; "
            "on PublishRefused keep it and back off"
        )

    def back_off(self) -> None:
        """Try again after a wait between half and all of min(cap, base * 2 ** (n - 1))."""
        raise NotImplementedError(
            "TODO(ch07.3): after the n-th refusal in a row, call self.flush again after "
            "self.random.uniform(c / 2, c) seconds, c = min(cap, base * 2 ** (n - 1))"
        )
