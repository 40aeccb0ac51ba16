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

    ``self.client.poll()`` returns records (``partition``, ``offset``,
    ``value["order_id"]``); ``self.warehouse.ship(order_id)`` ships one order;
    ``self.client.commit({partition: offset})`` commits, for the group, the
    offset of the *next* record to read.
    """

    def __init__(self, client: LogClient, warehouse: Warehouse, *, every: int = 3) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.client = client
        self.warehouse = warehouse
        self.every = every

    def poll_once(self) -> None:
        """One turn of the poll loop: poll, ship each record, commit what is shipped."""
        raise NotImplementedError(
            "TODO(ch02.1): poll, ship each record, and commit the next offset to read after "
            "every `every` shipped records and whenever a poll finds nothing new"
        )

    def on_partitions_assigned(self, partitions: list[int]) -> None:
        """The group gave this member ``partitions``: decide where each one starts."""
        raise NotImplementedError(
            "TODO(ch02.2): seek each partition to the group's committed offset, or to its "
            "beginning when the group has none (or retention removed it)"
        )

    def on_partitions_revoked(self, partitions: list[int]) -> None:
        """The group takes ``partitions`` away: hand over what is done."""
        raise NotImplementedError(
            "TODO(ch02.3): commit what is shipped before the partitions go to another member"
        )
