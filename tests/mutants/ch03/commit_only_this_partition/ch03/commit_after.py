from harness.ports import PaymentFailed


class CommitAfterConsumer:
    def __init__(self, client, payments, *, every=1):
        self.client = client
        self.payments = payments
        self.every = every
        self.count = 0

    def poll_once(self):
        records = self.client.poll()
        if not records:
            self.client.commit()
            return
        for index, record in enumerate(records):
            try:
                self.payments.charge(record.value["order_id"], record.value["amount"])
            except PaymentFailed:
                rewind = {}
                for later in records[index:]:
                    rewind.setdefault(later.partition, later.offset)
                for partition, offset in rewind.items():
                    self.client.seek(partition, offset)
                return
            self.count += 1
            if self.count >= self.every:
                self.client.commit({record.partition: record.offset + 1})
                self.count = 0
