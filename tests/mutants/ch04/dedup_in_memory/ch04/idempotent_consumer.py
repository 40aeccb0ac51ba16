"""ch04 · task 1 · An idempotent consumer that remembers processed ids in memory."""

from __future__ import annotations

import time


class IdempotentConsumer:
    def __init__(self, channel, store, *, retention=60.0):
        self.channel = channel
        self.store = store
        self.retention = retention
        self.processed = {}  # message id -> when it was processed

    def on_message(self, delivery):
        now = time.time()
        self.processed = {m: at for m, at in self.processed.items() if at >= now - self.retention}
        if delivery.message_id not in self.processed:
            self.store.execute(
                "INSERT INTO captures (order_id, amount) VALUES (?, ?)",
                (delivery.body["order_id"], delivery.body["amount"]),
            )
            self.store.commit()
            self.processed[delivery.message_id] = now
        self.channel.ack(delivery.tag)
