"""ch02 · tasks 1 to 3 · The shipping group's consumer: commit, resume, hand over."""

from __future__ import annotations

from harness.ports import LogClient
from harness.ports.warehouse import Warehouse


class ShippingConsumer:
    """A member of the shipping group: ships each order of the ``orders`` log.

    Promise: for the group, every record below the committed offset was
    shipped (nothing committed is skipped); once the consumer is idle, the
    committed offsets reach the end of the log (nothing stuck); a crash ships
    at most ``every`` orders again, and a rebalance without a crash ships
    nothing twice.
    """

    def __init__(self, client: LogClient, warehouse: Warehouse, *, every: int = 3) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.client = client
        self.warehouse = warehouse
        self.every = every
        self.done: dict[int, int] = {}  # partition -> next offset to read, not yet committed
        self.since_commit = 0

    def poll_once(self) -> None:
        """One turn of the poll loop: poll, ship each record, commit what is shipped."""
        records = self.client.poll()
        if not records:
            # Idle: commit what is shipped, or a later restart ships it again.
            self._commit()
            return
        for record in records:
            self.warehouse.ship(record.value["order_id"])
            # The committed offset is the next record to read: this one's offset + 1.
            self.done[record.partition] = record.offset + 1
            self.since_commit += 1
            if self.since_commit >= self.every:
                self._commit()

    def on_partitions_assigned(self, partitions: list[int]) -> None:
        """The group gave this member ``partitions``: decide where each one starts."""
        for partition in partitions:
            committed = self.client.committed(partition)
            if committed is None:
                # A brand-new group reads the partition from its first record.
                self.client.seek(partition, 0)
            elif committed < self.client.beginning_offset(partition):
                # Retention removed the committed record: read from the oldest one left.
                self.client.seek(partition, self.client.beginning_offset(partition))
            else:
                self.client.seek(partition, committed)

    def on_partitions_revoked(self, partitions: list[int]) -> None:
        """The group takes ``partitions`` away: hand over what is done."""
        # The next owner starts at the committed offset: commit what is shipped, or it ships again.
        self._commit()

    def _commit(self) -> None:
        if self.done:
            self.client.commit(self.done)
            self.done = {}
        self.since_commit = 0
