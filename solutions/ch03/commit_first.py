"""ch03 · task 3 · At most once on the log: commit, then process."""

from __future__ import annotations

from harness.ports import LogClient, PaymentFailed, Payments


class CommitFirstConsumer:
    """Reads the payments log and charges each record's order at most once.

    Promise: no order is ever charged twice, under any crash; without
    crashes or gateway failures, every record is charged and committed.
    """

    def __init__(self, client: LogClient, payments: Payments) -> None:
        self.client = client
        self.payments = payments

    def poll_once(self) -> None:
        records = self.client.poll()
        if not records:
            return
        # Commit the whole batch before touching it: after a crash nobody reads it again.
        self.client.commit()
        for record in records:
            try:
                self.payments.charge(record.value["order_id"], record.value["amount"])
            except PaymentFailed:
                continue  # already committed: at most once means letting it go
