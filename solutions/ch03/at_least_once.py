"""ch03 · task 2 · An at-least-once consumer on the queue."""

from __future__ import annotations

from harness.broker import Delivery
from harness.ports import Channel, PaymentFailed, Payments


class AtLeastOnceConsumer:
    """Charges each order's payment at least once, whatever crashes.

    Promise: no order is ever lost, under any crash and through gateway
    timeouts; every delivery is settled in the end. The price: a crash
    between the charge and the ack charges the order again.
    """

    def __init__(self, channel: Channel, payments: Payments) -> None:
        self.channel = channel
        self.payments = payments

    def on_message(self, delivery: Delivery) -> None:
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            # Not charged: hand it back so the broker delivers it again.
            self.channel.nack(delivery.tag, requeue=True)
            return
        # Ack only after the effect: a crash before this line means a redelivery, never a loss.
        self.channel.ack(delivery.tag)
