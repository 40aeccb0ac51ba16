"""ch05 · task 1 · The order and its event, in one transaction."""

from __future__ import annotations

from harness.ports import Store
from harness.ports.publisher import Publisher


class OrderDesk:
    """Commits the order, then publishes its event."""

    def __init__(self, store: Store, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    def place_order(self, order_id: str, amount: float) -> None:
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO orders (order_id, amount) VALUES (?, ?)", (order_id, amount)
            )
        body = {"type": "OrderPlaced", "order_id": order_id, "amount": amount}
        self.publisher.publish("order-events", body, message_id=f"{order_id}/placed")
