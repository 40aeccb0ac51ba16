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

    ``delivery.body`` is ``{"order_id": str, "version": int, "event": str}``;
    versions count 1, 2, 3, … per order, in the order the events happened, and
    any event can arrive first, even before the order's ``OrderPlaced``.
    The table ``order_status (order_id TEXT PRIMARY KEY, status TEXT, version
    INTEGER)`` exists; write it through ``self.store`` and commit.
    """

    def __init__(self, channel: Channel, store: Store) -> None:
        self.channel = channel
        self.store = store

    def on_message(self, delivery: Delivery) -> None:
        raise NotImplementedError(
            "TODO(ch04.3): write the event's status into order_status unless the row already "
            "holds a newer version; commit, then ack"
        )
