"""ch03 · task 4 · At least once on the log: process, then commit every N records."""

from __future__ import annotations

from harness.ports import LogClient, PaymentFailed, Payments


class CommitAfterConsumer:
    """Reads the payments log and charges each record's order at least once.

    Commits after every ``every`` processed records, and whenever a poll
    finds nothing new.

    Promise: no order is lost, under any crash and through gateway timeouts;
    each crash charges at most ``every`` orders again; once the consumer is
    idle, the group's committed offsets reach the end of the log.
    """

    def __init__(self, client: LogClient, payments: Payments, *, every: int = 1) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.client = client
        self.payments = payments
        self.every = every
        self.done: dict[int, int] = {}  # partition -> next offset to commit
        self.since_commit = 0

    def poll_once(self) -> None:
        records = self.client.poll()
        if not records:
            # Idle: commit what is processed, so a restart does not redo it.
            if self.done:
                self.client.commit(self.done)
                self.done = {}
                self.since_commit = 0
            return
        for index, record in enumerate(records):
            try:
                self.payments.charge(record.value["order_id"], record.value["amount"])
            except PaymentFailed:
                # Not charged: rewind every partition to its first uncharged record of the batch.
                rewind: dict[int, int] = {}
                for later in records[index:]:
                    rewind.setdefault(later.partition, later.offset)
                for partition, offset in rewind.items():
                    self.client.seek(partition, offset)
                return
            # The committed offset is the next record to read: this one's offset + 1.
            self.done[record.partition] = record.offset + 1
            self.since_commit += 1
            if self.since_commit >= self.every:
                self.client.commit(self.done)
                self.done = {}
                self.since_commit = 0
