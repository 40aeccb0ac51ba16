"""ch06 · task 4 · Replay the dead-letter queue once the fix is in."""

from __future__ import annotations

import time

from harness.broker import Delivery
from harness.ports import Channel, Store
from harness.workloads.payments_retry import QUEUE


class Replayer:
    """Sends each dead letter back to ``payments`` once, to be captured once.

    Promise: after the fix, every dead-lettered message is captured exactly
    once: a crash of the replayer sends a copy at most, under the same
    message id, which the payments service absorbs.
    """

    def __init__(self, channel: Channel, store: Store) -> None:
        self.channel = channel
        self.store = store
        self.store.execute(
            "CREATE TABLE IF NOT EXISTS attempts (message_id TEXT PRIMARY KEY, "
            "attempts INTEGER NOT NULL, first_failure REAL NOT NULL, last_failure REAL NOT NULL)"
        )

    def on_message(self, delivery: Delivery) -> None:
        # A fresh budget of attempts: the count of the old life would dead-letter it again.
        self.store.execute("DELETE FROM attempts WHERE message_id = ?", (delivery.message_id,))
        self.store.commit()
        headers = {k: v for k, v in delivery.headers.items() if not k.startswith("x-")}
        # The same message id: a copy sent again after a crash is absorbed, never captured twice.
        fresh = f"{delivery.message_id}@{time.time()}"
        self.channel.publish(QUEUE, delivery.body, message_id=fresh, headers=headers)
        self.channel.ack(delivery.tag)
