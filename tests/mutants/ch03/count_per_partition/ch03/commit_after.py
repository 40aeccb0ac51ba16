from harness.ports import PaymentFailed


class CommitAfterConsumer:
    def __init__(self, client, payments, *, every=1):
        self.client = client
        self.payments = payments
        self.every = every
        self.done = {}
        self.count = {}

    def poll_once(self):
        records = self.client.poll()
        if not records:
            if self.done:
                self.client.commit(self.done)
                self.done, self.count = {}, {}
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
            partition = record.partition
            # Offsets are per partition, so count per partition too.
            self.done[partition] = record.offset + 1
            self.count[partition] = self.count.get(partition, 0) + 1
            if self.count[partition] >= self.every:
                self.client.commit({partition: self.done.pop(partition)})
                self.count[partition] = 0
