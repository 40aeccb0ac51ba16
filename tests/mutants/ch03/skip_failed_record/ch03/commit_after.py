from harness.ports import PaymentFailed


class CommitAfterConsumer:
    def __init__(self, client, payments, *, every=1):
        self.client = client
        self.payments = payments
        self.every = every
        self.done = {}
        self.count = 0

    def poll_once(self):
        records = self.client.poll()
        if not records:
            if self.done:
                self.client.commit(self.done)
                self.done, self.count = {}, 0
            return
        for record in records:
            try:
                self.payments.charge(record.value["order_id"], record.value["amount"])
            except PaymentFailed:
                pass
            self.done[record.partition] = record.offset + 1
            self.count += 1
            if self.count >= self.every:
                self.client.commit(self.done)
                self.done, self.count = {}, 0
