"""ch04 · task 1 · An idempotent consumer: a dedup table in the same transaction as the effect."""

from __future__ import annotations

import time  # noqa: F401

from harness.broker import Delivery
from harness.ports import Channel, Store


class IdempotentConsumer:
    """Captures each order's payment exactly once, whatever crashes and duplicates.

    Promise: every message's effect (a row in ``captures``) is committed
    exactly once, under every single crash and under duplicate deliveries of
    the same message id; every delivery is settled. An order can be paid by
    several messages: each is captured once. A processed message id is kept
    ``retention`` seconds from its capture (a duplicate does not renew it): a
    duplicate within the window changes nothing, one that comes after it is
    captured again.

    The capture is ``INSERT INTO captures (order_id, amount) VALUES (?, ?)``
    through ``self.store``; nothing is durable until ``self.store.commit()``.
    The dedup table is yours to create (here, in the constructor). A message is
    identified by ``delivery.message_id``; ``delivery.tag`` is new on every
    delivery. ``time.time()`` reads the virtual clock.
    """

    def __init__(self, channel: Channel, store: Store, *, retention: float = 60.0) -> None:
        self.channel = channel
        self.store = store
        self.retention = retention
        raise NotImplementedError(
            "TODO(ch04.1): create the dedup table (if it does not exist yet), keyed by message id"
        )

    def on_message(self, delivery: Delivery) -> None:
        raise NotImplementedError(
            "TODO(ch04.1): purge records older than the window, then record the message id and "
            "capture the payment in one transaction, unless the id is already recorded (a "
            "duplicate does not renew its record); ack after the commit"
        )
