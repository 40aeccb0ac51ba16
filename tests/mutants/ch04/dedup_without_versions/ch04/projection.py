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
        self.store.execute("CREATE TABLE IF NOT EXISTS applied (event_id TEXT PRIMARY KEY)")

    def on_message(self, delivery: Delivery) -> None:
        body = delivery.body
        # Idempotent: each event is applied once, in the same transaction as its record.
        if not self.store.execute(
            "SELECT 1 FROM applied WHERE event_id = ?", (delivery.message_id,)
        ):
            self.store.execute("INSERT INTO applied VALUES (?)", (delivery.message_id,))
            self.store.execute(
                "INSERT OR REPLACE INTO order_status (order_id, status, version) VALUES (?, ?, ?)",
                (body["order_id"], STATUS[body["event"]], body["version"]),
            )
        self.store.commit()
        # Ack after the commit; a redelivery is harmless, the version check makes it a no-op.
        self.channel.ack(delivery.tag)
