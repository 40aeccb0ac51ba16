"""ch06 · tasks 1 to 3 · A consumer that retries, backs off and dead-letters its poison."""

from __future__ import annotations

import time  # noqa: F401

from harness.broker import Delivery
from harness.ports import Channel, PaymentFailed, Store  # noqa: F401
from harness.workloads.payments_retry import DEAD, WAIT, Jitter, PaymentService  # noqa: F401


class RetryingConsumer:
    """Captures every payment it can, and dead-letters the ones it cannot, with why.

    Promise: every message ends captured or in ``payments.dead``; a permanent
    failure goes there at once, a transient one is tried again after a random
    wait, at most ``max_attempts`` times in all (a try that crashed the
    process counts); a dead letter carries ``x-reason``, ``x-attempts``,
    ``x-first-failure`` and ``x-last-failure``; a message that waits never
    holds up the others.

    ``self.payments.capture(message_id, order_id, amount)`` raises
    ``PaymentFailed``; its ``transient`` says whether trying again may help.
    ``self.store`` is your own SQLite connection (it outlives a crash once
    committed); ``self.random.uniform(a, b)`` draws from the world's seeded
    random.
    """

    def __init__(
        self,
        channel: Channel,
        payments: PaymentService,
        store: Store,
        random: Jitter,
        *,
        max_attempts: int = 5,
        base: float = 0.05,
        cap: float = 1.0,
    ) -> None:
        self.channel = channel
        self.payments = payments
        self.store = store
        self.random = random
        self.max_attempts = max_attempts
        self.base = base
        self.cap = cap

    def on_message(self, delivery: Delivery) -> None:
        raise NotImplementedError(
            "TODO(ch06.1): capture the payment and ack it; send a permanent failure to "
            "payments.dead at once, and try a transient one again"
        )

    def dead_letter(
        self, delivery: Delivery, reason: str, attempts: int, first: float, last: float
    ) -> None:
        """Send ``delivery`` to ``payments.dead``, saying why, and settle it."""
        raise NotImplementedError(
            "TODO(ch06.2): publish the message to payments.dead under its own id, with "
            "x-reason, x-attempts, x-first-failure and x-last-failure, then ack it"
        )

    def retry_later(self, delivery: Delivery, attempts: int) -> None:
        """Send ``delivery`` to wait in ``payments.wait``, after its ``attempts``-th failure."""
        raise NotImplementedError(
            "TODO(ch06.3): publish the message to payments.wait with a random expiration up to "
            "min(cap, base * 2 ** (attempts - 1)) seconds, in milliseconds, then ack it"
        )
