"""ch03 · task 4 · At least once on the log: process, then commit every N records."""

from __future__ import annotations

from harness.ports import LogClient, PaymentFailed, Payments  # noqa: F401


class CommitAfterConsumer:
    """Reads the payments log and charges each record's order at least once.

    Commits after every ``every`` processed records, and whenever a poll
    finds nothing new.

    Promise: no order is lost, under any crash and through gateway timeouts;
    each crash charges at most ``every`` orders again; once the consumer is
    idle, the group's committed offsets reach the end of the log.

    ``self.client.commit({partition: offset})`` commits the offset of the
    *next* record to read; ``self.client.seek(partition, offset)`` makes the
    next poll start there. ``charge`` raises ``PaymentFailed`` on a timeout.
    """

    def __init__(self, client: LogClient, payments: Payments, *, every: int = 1) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.client = client
        self.payments = payments
        self.every = every

    def poll_once(self) -> None:
        raise NotImplementedError(
            "TODO(ch03.4): poll, charge each record, and commit after every `every` charged "
            "records (and when idle), never past a record that was not charged"
        )
