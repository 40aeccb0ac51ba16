"""ch07 · tasks 1 and 2 · A consumer that holds no more than its window, and says its lag."""

from __future__ import annotations

from collections import deque  # noqa: F401

from harness.broker import Delivery
from harness.workloads.flash_sale import FlowChannel, Warehouse, WarehouseBusy  # noqa: F401


class PacedConsumer:
    """Reserves stock for every order, never holding more than its credit window.

    Promise: at every moment, the deliveries on their way to it plus those in
    its buffer (the one at the warehouse included) are at most ``window``; each
    is acked only once its reservation is done, so a crash loses nothing; the
    warehouse never waits while orders wait in the queue; ``lag()`` says how
    many messages wait for it.

    ``self.channel.qos(n)`` sets the credit window; ``self.warehouse.reserve(d)``
    starts a reservation, and the harness calls ``on_reserved(d)`` when it is done.
    """

    def __init__(self, channel: FlowChannel, warehouse: Warehouse, *, window: int = 4) -> None:
        self.channel = channel
        self.warehouse = warehouse
        self.window = window
        raise NotImplementedError(
            "TODO(ch07.1): set the credit window with self.channel.qos(window), and make a "
            "buffer for the deliveries that wait for the warehouse"
        )

    def on_message(self, delivery: Delivery) -> None:
        raise NotImplementedError(
            "TODO(ch07.1): keep the delivery in your buffer (unacked), and reserve it at once "
            "if the warehouse is free"
        )

    def on_reserved(self, delivery: Delivery) -> None:
        raise NotImplementedError(
            "TODO(ch07.1): the reservation is done: ack the delivery, then reserve the next one "
            "of your buffer"
        )

    def lag(self) -> int:
        """How many messages wait for this consumer: ready in the queue, and held by it."""
        raise NotImplementedError(
            "TODO(ch07.2): return self.channel.depth() plus the deliveries this consumer holds"
        )
