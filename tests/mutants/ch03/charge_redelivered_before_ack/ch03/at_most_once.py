from harness.ports import PaymentFailed


class AtMostOnceConsumer:
    def __init__(self, channel, payments):
        self.channel = channel
        self.payments = payments

    def on_message(self, delivery):
        order, amount = delivery.body["order_id"], delivery.body["amount"]
        if delivery.redelivered:
            # We ack first, so a redelivered message never got its ack, nor its charge:
            # charge it before acking this time, or it would be lost.
            try:
                self.payments.charge(order, amount)
            except PaymentFailed:
                self.channel.nack(delivery.tag, requeue=True)
                return
            self.channel.ack(delivery.tag)
            return
        self.channel.ack(delivery.tag)
        try:
            self.payments.charge(order, amount)
        except PaymentFailed:
            pass
