"""A consumer that reads the wall clock: it gives up on (nacks, without requeue) every order
that comes after a sale it thinks is over, 1 June 2026.

The simulator's clock starts at 1 January 2026 and stays there, give or take seconds, so on
the simulator this consumer charges every order and keeps every promise; on RabbitMQ it runs
in real time, after that date, and loses every order: the worlds disagree.
"""

from datetime import datetime

from harness.ports import PaymentFailed

SALE_ENDS = datetime(2026, 6, 1)


class AtLeastOnceConsumer:
    def __init__(self, channel, payments):
        self.channel = channel
        self.payments = payments

    def on_message(self, delivery):
        if datetime.now() >= SALE_ENDS:
            self.channel.nack(delivery.tag, requeue=False)
            return
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            self.channel.nack(delivery.tag, requeue=True)
            return
        self.channel.ack(delivery.tag)
