"""ch04 · task 1 · An idempotent consumer: a dedup table in the same transaction as the effect."""

from __future__ import annotations

import time

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
    """

    def __init__(self, channel: Channel, store: Store, *, retention: float = 60.0) -> None:
        self.channel = channel
        self.store = store
        self.retention = retention
        self.store.execute(
            "CREATE TABLE IF NOT EXISTS processed (message_id TEXT PRIMARY KEY, at REAL NOT NULL)"
        )

    def on_message(self, delivery: Delivery) -> None:
        now = time.time()
        # Purge first: a record older than the window must not hide a message.
        self.store.execute("DELETE FROM processed WHERE at < ?", (now - self.retention,))
        # The message id, never the tag: a redelivery has a new tag and the same id.
        seen = self.store.execute(
            "SELECT 1 FROM processed WHERE message_id = ?", (delivery.message_id,)
        )
        if not seen:
            self.store.execute(
                "INSERT INTO processed (message_id, at) VALUES (?, ?)", (delivery.message_id, now)
            )
            self.store.execute(
                "INSERT INTO captures (order_id, amount) VALUES (?, ?)",
                (delivery.body["order_id"], delivery.body["amount"]),
            )
        # One commit for the record and the capture: a crash keeps both or neither.
        self.store.commit()
        # Ack after the commit: a crash before it redelivers, and the record says "done".
        self.channel.ack(delivery.tag)
