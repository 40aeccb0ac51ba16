"""ch05 · task 1 · The order and its event, in one transaction."""

from __future__ import annotations

import time

from harness.ports import Store
from harness.ports.publisher import Publisher


class OrderDesk:
    """Saves each order and gets its ``OrderPlaced`` event out, atomically.

    Promise: an order that is committed has its event, and an order whose
    transaction rolled back has none: no event is lost, none is a phantom.
    """

    def __init__(self, store: Store, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    def place_order(self, order_id: str, amount: float) -> None:
        body = {"type": "OrderPlaced", "order_id": order_id, "amount": amount, "seq": 1}
        # One transaction for both rows: they commit together or roll back together, so no
        # crash and no refused insert can leave an order without its event, or the reverse.
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO orders (order_id, amount) VALUES (?, ?)", (order_id, amount)
            )
            self.store.execute(
                "INSERT INTO outbox (message_id, order_id, body, created_at) VALUES (?, ?, ?, ?)",
                (f"{order_id}/placed", order_id, str(body), time.time()),
            )
