from harness.ports import PaymentFailed


class CommitAfterConsumer:
    def __init__(self, client, payments, *, every=1):
        self.client = client
        self.payments = payments
        self.every = every
        self.done = {}
        self.charged = 0

    def poll_once(self):
        records = self.client.poll()
        if not records:
            if self.done:
                self.client.commit(self.done)
                self.done = {}
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
            self.done[record.partition] = record.offset + 1
            self.charged += 1
            if self.charged == self.every:
                self.client.commit(self.done)
                self.done = {}
