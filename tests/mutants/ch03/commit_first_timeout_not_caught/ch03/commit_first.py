class CommitFirstConsumer:
    def __init__(self, client, payments):
        self.client = client
        self.payments = payments

    def poll_once(self):
        records = self.client.poll()
        if records:
            self.client.commit()
        for record in records:
            self.payments.charge(record.value["order_id"], record.value["amount"])
