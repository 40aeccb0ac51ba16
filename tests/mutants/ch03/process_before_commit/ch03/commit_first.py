from harness.ports import PaymentFailed


class CommitFirstConsumer:
    def __init__(self, client, payments):
        self.client = client
        self.payments = payments

    def poll_once(self):
        records = self.client.poll()
        for record in records:
            try:
                self.payments.charge(record.value["order_id"], record.value["amount"])
            except PaymentFailed:
                pass
        if records:
            self.client.commit()
