"""ch04 · task 3 · A projection of order status that stays right under duplicates and disorder."""

from __future__ import annotations

from harness.broker import Delivery
from harness.ports import Channel, Store

STATUS = {
    "OrderPlaced": "placed",
    "OrderPaid": "paid",
    "OrderShipped": "shipped",
    "OrderCancelled": "cancelled",
}


class OrderStatusProjection:
    """Keeps ``order_status (order_id, status, version)``: each order's newest known status.

    Promise: whatever crashes, duplicates and disorder, at the end each
    order's row holds the status and version that its events give when folded
    in version order; every delivery is settled.
    """

    def __init__(self, channel: Channel, store: Store) -> None:
        self.channel = channel
        self.store = store

    def on_message(self, delivery: Delivery) -> None:
        body = delivery.body
        if body["event"] == "OrderPlaced":
            # An order's row is born with its first event.
            self.store.execute(
                "INSERT OR IGNORE INTO order_status (order_id, status, version) VALUES (?, ?, ?)",
                (body["order_id"], STATUS[body["event"]], body["version"]),
            )
        else:
            # Later events move the row forward, never back.
            self.store.execute(
                "UPDATE order_status SET status = ?, version = ? "
                "WHERE order_id = ? AND version < ?",
                (STATUS[body["event"]], body["version"], body["order_id"], body["version"]),
            )
        self.store.commit()
        # Ack after the commit; a redelivery is harmless, the version check makes it a no-op.
        self.channel.ack(delivery.tag)
