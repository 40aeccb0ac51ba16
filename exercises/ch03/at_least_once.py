"""ch03 · task 2 · An at-least-once consumer on the queue."""

from __future__ import annotations

from harness.broker import Delivery
from harness.ports import Channel, PaymentFailed, Payments  # noqa: F401


class AtLeastOnceConsumer:
    """Charges each order's payment at least once, whatever crashes.

    Promise: no order is ever lost, under any crash and through gateway
    timeouts; every delivery is settled in the end. The price: a crash
    between the charge and the ack charges the order again.

    ``self.payments.charge(order_id, amount)`` raises ``PaymentFailed`` when
    the gateway times out (it may succeed later). Settle each delivery once:
    ``self.channel.ack(tag)`` or ``self.channel.nack(tag, requeue=...)``.
    """

    def __init__(self, channel: Channel, payments: Payments) -> None:
        self.channel = channel
        self.payments = payments

    def on_message(self, delivery: Delivery) -> None:
        raise NotImplementedError(
            "TODO(ch03.2): charge the order and settle the delivery so that no order is ever "
            "lost, not even when the gateway times out"
        )
