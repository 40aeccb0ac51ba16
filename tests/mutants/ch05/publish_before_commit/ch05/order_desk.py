"""ch05 · task 1 · The order and its event, in one transaction."""

from __future__ import annotations

from harness.ports import Store
from harness.ports.publisher import Publisher


class OrderDesk:
    """Saves each order and publishes its event before the commit."""

    def __init__(self, store: Store, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    def place_order(self, order_id: str, amount: float) -> None:
        body = {"type": "OrderPlaced", "order_id": order_id, "amount": amount}
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO orders (order_id, amount) VALUES (?, ?)", (order_id, amount)
            )
            self.publisher.publish("order-events", body, message_id=f"{order_id}/placed")
