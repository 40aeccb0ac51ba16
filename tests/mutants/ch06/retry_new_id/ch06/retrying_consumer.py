"""ch06 · tasks 1 to 3 · A consumer that retries, backs off and dead-letters its poison."""

from __future__ import annotations

import time

from harness.broker import Delivery
from harness.ports import Channel, PaymentFailed, Store
from harness.workloads.payments_retry import DEAD, WAIT, Jitter, PaymentService


class RetryingConsumer:
    """Captures every payment it can, and dead-letters the ones it cannot, with why.

    Promise: every message ends captured or in ``payments.dead``; a permanent
    failure goes there at once, a transient one is tried again after a random
    wait, at most ``max_attempts`` times in all (a try that crashed the
    process counts); a dead letter carries ``x-reason``, ``x-attempts``,
    ``x-first-failure`` and ``x-last-failure``; a message that waits never
    holds up the others.
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
        self.store.execute(
            "CREATE TABLE IF NOT EXISTS attempts (message_id TEXT PRIMARY KEY, "
            "attempts INTEGER NOT NULL, first_failure REAL NOT NULL, last_failure REAL NOT NULL)"
        )

    def on_message(self, delivery: Delivery) -> None:
        now = time.time()
        # Count the attempt and commit it before trying: a crash in the handler still counts.
        # Past the maximum the count goes on, but the time of the last attempt stays.
        ((attempts, first, last),) = self.store.execute(
            "INSERT INTO attempts VALUES (?, 1, ?, ?) ON CONFLICT (message_id) DO UPDATE "
            "SET attempts = attempts + 1, last_failure = CASE WHEN attempts < ? "
            "THEN excluded.last_failure ELSE last_failure END "
            "RETURNING attempts, first_failure, last_failure",
            (delivery.message_id, now, now, self.max_attempts),
        )
        self.store.commit()
        if attempts > self.max_attempts:
            # Every attempt is spent, the last one crashed the process: never try it again.
            self.dead_letter(delivery, "max-attempts", self.max_attempts, first, last)
            return
        body = delivery.body
        try:
            self.payments.capture(delivery.message_id, body["order_id"], body["amount"])
        except PaymentFailed as error:
            if not error.transient:
                # A permanent failure never succeeds: trying it again only delays it.
                self.dead_letter(delivery, "permanent", attempts, first, now)
            elif attempts >= self.max_attempts:
                self.dead_letter(delivery, "max-attempts", attempts, first, now)
            else:
                self.retry_later(delivery, attempts)
            return
        self.channel.ack(delivery.tag)

    def retry_later(self, delivery: Delivery, attempts: int) -> None:
        """Send ``delivery`` to wait in ``payments.wait``, after its ``attempts``-th failure."""
        # Full jitter: a random wait up to the ceiling, so failures that came together
        # come back apart; in the wait queue, not at the head of payments.
        ceiling = min(self.cap, self.base * 2 ** (attempts - 1))
        wait = self.random.uniform(0, ceiling)
        self.channel.publish(
            WAIT,
            delivery.body,
            message_id=f"{delivery.message_id}#{attempts + 1}",
            headers=delivery.headers,
            expiration=int(wait * 1000),
        )
        # Ack after the publish: a crash in between leaves a copy, which the service absorbs.
        self.channel.ack(delivery.tag)

    def dead_letter(
        self, delivery: Delivery, reason: str, attempts: int, first: float, last: float
    ) -> None:
        """Send ``delivery`` to ``payments.dead``, saying why, and settle it."""
        headers = {
            **delivery.headers,
            "x-reason": reason,
            "x-attempts": attempts,
            "x-first-failure": first,
            "x-last-failure": last,
        }
        self.channel.publish(DEAD, delivery.body, message_id=delivery.message_id, headers=headers)
        self.channel.ack(delivery.tag)
