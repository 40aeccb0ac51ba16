from harness.ports import PaymentFailed

MAX_ATTEMPTS = 3


class AtLeastOnceConsumer:
    def __init__(self, channel, payments):
        self.channel = channel
        self.payments = payments
        self.attempts = {}

    def on_message(self, delivery):
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            tries = self.attempts.get(delivery.message_id, 0) + 1
            self.attempts[delivery.message_id] = tries
            # Do not retry a charge that keeps failing forever.
            self.channel.nack(delivery.tag, requeue=tries < MAX_ATTEMPTS)
            return
        self.channel.ack(delivery.tag)
