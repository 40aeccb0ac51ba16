class AtLeastOnceConsumer:
    def __init__(self, channel, payments):
        self.channel = channel
        self.payments = payments

    def on_message(self, delivery):
        self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        self.channel.ack(delivery.tag)
