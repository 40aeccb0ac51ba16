"""ch05 · task 1 · The order and its event, in one transaction."""

from __future__ import annotations

import json
import time

from harness.ports import Store
from harness.ports.publisher import Publisher


class OrderDesk:
    """Saves each order and gets its ``OrderPlaced`` event out, atomically."""

    def __init__(self, store: Store, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher
        self.events = 0

    def place_order(self, order_id: str, amount: float) -> None:
        self.events += 1
        body = {"type": "OrderPlaced", "order_id": order_id, "amount": amount, "seq": 1}
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO orders (order_id, amount) VALUES (?, ?)", (order_id, amount)
            )
            self.store.execute(
                "INSERT INTO outbox (message_id, order_id, body, created_at) VALUES (?, ?, ?, ?)",
                (f"evt-{self.events}", order_id, json.dumps(body), time.time()),
            )
