"""ch05 · task 3 · Several relays: claims with a lease."""

from __future__ import annotations

import json
import time

from harness.ports import Store
from harness.ports.publisher import Publisher, PublishRefused

QUEUE = "order-events"
BACKOFF = 0.01


class LeasedRelay:
    """Reads the pending rows of each order's head, publishes them, marks them sent."""

    def __init__(self, store: Store, publisher: Publisher, *, worker: str, lease: float) -> None:
        self.store = store
        self.publisher = publisher
        self.worker = worker
        self.lease = lease

    def poll_once(self) -> None:
        now = time.time()
        rows = self.store.execute(
            "SELECT id, message_id, order_id, body, attempts, available_at FROM outbox "
            "WHERE sent_at IS NULL ORDER BY id LIMIT 10"
        )
        self.store.commit()
        waiting: set[str] = set()
        for row_id, message_id, order_id, body, attempts, available_at in rows:
            if order_id in waiting or available_at > now:
                waiting.add(order_id)
                continue
            try:
                self.publisher.publish(QUEUE, json.loads(body), message_id=message_id)
            except PublishRefused:
                self.store.execute(
                    "UPDATE outbox SET attempts = attempts + 1, available_at = ? WHERE id = ?",
                    (now + BACKOFF * 2**attempts, row_id),
                )
                self.store.commit()
                waiting.add(order_id)
                continue
            self.store.execute("UPDATE outbox SET sent_at = ? WHERE id = ?", (time.time(), row_id))
            self.store.commit()
