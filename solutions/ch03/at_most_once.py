"""ch03 · task 1 · An at-most-once consumer on the queue."""

from __future__ import annotations

from harness.broker import Delivery
from harness.ports import Channel, PaymentFailed, Payments


class AtMostOnceConsumer:
    """Charges each order's payment at most once, whatever crashes.

    Promise: no order is ever charged twice, under any crash; without
    crashes or gateway failures, every order is charged. The price: an order
    whose charge did not happen (a crash, a gateway timeout) is never
    charged at all.
    """

    def __init__(self, channel: Channel, payments: Payments) -> None:
        self.channel = channel
        self.payments = payments

    def on_message(self, delivery: Delivery) -> None:
        # Ack first: once the broker has forgotten the message, no crash can bring it back.
        self.channel.ack(delivery.tag)
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            # Already acked: trying again would need the message we just gave up.
            return
