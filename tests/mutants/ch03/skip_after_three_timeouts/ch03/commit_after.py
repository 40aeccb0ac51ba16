from harness.ports import PaymentFailed

MAX_ATTEMPTS = 3


class CommitAfterConsumer:
    def __init__(self, client, payments, *, every=1):
        self.client = client
        self.payments = payments
        self.every = every
        self.done = {}
        self.count = 0
        self.attempts = {}

    def poll_once(self):
        records = self.client.poll()
        if not records:
            if self.done:
                self.client.commit(self.done)
                self.done, self.count = {}, 0
            return
        for index, record in enumerate(records):
            try:
                self.payments.charge(record.value["order_id"], record.value["amount"])
            except PaymentFailed:
                key = (record.partition, record.offset)
                self.attempts[key] = self.attempts.get(key, 0) + 1
                if self.attempts[key] < MAX_ATTEMPTS:
                    rewind = {}
                    for later in records[index:]:
                        rewind.setdefault(later.partition, later.offset)
                    for partition, offset in rewind.items():
                        self.client.seek(partition, offset)
                    return
                # Given up on: move on to the next record.
            self.done[record.partition] = record.offset + 1
            self.count += 1
            if self.count >= self.every:
                self.client.commit(self.done)
                self.done, self.count = {}, 0
