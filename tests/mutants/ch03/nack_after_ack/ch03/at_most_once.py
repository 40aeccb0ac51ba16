from harness.ports import PaymentFailed


class AtMostOnceConsumer:
    def __init__(self, channel, payments):
        self.channel = channel
        self.payments = payments

    def on_message(self, delivery):
        self.channel.ack(delivery.tag)
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            self.channel.nack(delivery.tag, requeue=True)
