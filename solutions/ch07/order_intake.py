"""ch07 · tasks 3 and 4 · A desk that backs off when the broker refuses, and pauses when full."""

from __future__ import annotations

from collections import deque
from typing import Any

from harness.workloads.flash_sale import Publisher, PublishRefused, Timer
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
        self.held: deque[tuple[str, dict[str, Any]]] = deque()
        self.paused = False
        self.refusals = 0
        self.waiting = False

    def take(self, message_id: str, order: dict[str, Any]) -> bool:
        """Accept ``order`` (True) or turn it away (False: the customer is told to retry)."""
        # Hysteresis: pause at high, resume only at low, so one publish does not flip it.
        if self.paused and len(self.held) <= self.low:
            self.paused = False
        if not self.paused and len(self.held) >= self.high:
            self.paused = True
        if self.paused:
            return False
        self.held.append((message_id, order))
        if not self.waiting:
            self.flush()
        return True

    def flush(self) -> None:
        """Publish what the desk holds, oldest first, until the broker refuses one."""
        self.waiting = False
        while self.held:
            message_id, order = self.held[0]
            try:
                self.publisher.publish(message_id, order)
            except PublishRefused:
                self.refusals += 1
                self.back_off()
                return
            # Forget it only once confirmed: a refused order stays at the head, never dropped.
            self.held.popleft()
            self.refusals = 0

    def back_off(self) -> None:
        """Try again after a wait between half and all of min(cap, base * 2 ** (n - 1))."""
        ceiling = min(self.cap, self.base * 2 ** (self.refusals - 1))
        # While a retry is pending, take() only holds: a publish per order would spin.
        self.waiting = True
        self.timer.call_later(self.random.uniform(ceiling / 2, ceiling), self.flush)
