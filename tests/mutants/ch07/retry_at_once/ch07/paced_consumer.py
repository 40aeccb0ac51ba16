"""ch07 · tasks 1 and 2 · A consumer that holds no more than its window, and says its lag."""

from __future__ import annotations

from collections import deque

from harness.broker import Delivery
from harness.workloads.flash_sale import FlowChannel, Warehouse


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
        self.buffer: deque[Delivery] = deque()
        self.working = False
        # The broker stops at `window` unsettled deliveries: that alone bounds the buffer.
        self.channel.qos(window)

    def on_message(self, delivery: Delivery) -> None:
        # Keep it unacked: the broker counts it against the window until it is done.
        self.buffer.append(delivery)
        self._next()

    def on_reserved(self, delivery: Delivery) -> None:
        # Ack after the work: the ack both forgets the message and returns one credit.
        self.channel.ack(delivery.tag)
        self.working = False
        self._next()

    def _next(self) -> None:
        if not self.working and self.buffer:
            self.working = True
            self.warehouse.reserve(self.buffer.popleft())

    def lag(self) -> int:
        """How many messages wait for this consumer: ready in the queue, and held by it."""
        # depth() counts only ready messages; what this consumer holds is on top of it.
        return self.channel.depth() + len(self.buffer) + (1 if self.working else 0)
