"""ch03 · task 1 · An at-most-once consumer on the queue."""

from __future__ import annotations

from harness.broker import Delivery
from harness.ports import Channel, PaymentFailed, Payments  # noqa: F401


class AtMostOnceConsumer:
    """Charges each order's payment at most once, whatever crashes.

    Promise: no order is ever charged twice, under any crash; without
    crashes or gateway failures, every order is charged. The price: an order
    whose charge did not happen (a crash, a gateway timeout) is never
    charged at all.

    ``delivery.body`` is ``{"order_id": str, "amount": number}``; charge it
    with ``self.payments.charge(order_id, amount)`` and settle the delivery
    with ``self.channel.ack(delivery.tag)``.
    """

    def __init__(self, channel: Channel, payments: Payments) -> None:
        self.channel = channel
        self.payments = payments

    def on_message(self, delivery: Delivery) -> None:
        raise NotImplementedError(
            "TODO(ch03.1): charge the order and acknowledge the delivery, in the order that "
            "makes a second charge impossible whatever crash strikes"
        )
