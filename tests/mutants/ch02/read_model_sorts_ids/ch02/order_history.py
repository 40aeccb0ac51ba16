"""ch02 · task 4 · A late read model rebuilds history from the log."""

from __future__ import annotations

from harness.ports import LogClient


class OrderHistory:
    """The order-history read model: each customer's orders, in the order they were placed.

    It keeps its view in memory only, in a group of its own.

    Promise: whenever it starts, and whatever crashes wipe its memory, its
    final ``view()`` is the one built from every record of the log exactly
    once: nothing missing, nothing counted twice.
    """

    def __init__(self, client: LogClient) -> None:
        self.client = client
        self.orders: dict[str, set[str]] = {}  # a set: a record read twice counts once

    def on_partitions_assigned(self, partitions: list[int]) -> None:
        """The group gave this member ``partitions``: decide where each one starts."""
        # Memory starts empty, so read from the first record: the log still holds them all.
        self.client.seek_to_beginning(partitions)

    def poll_once(self) -> None:
        """One turn of the poll loop: add each new record's order to its customer's list."""
        for record in self.client.poll():
            self.orders.setdefault(record.value["customer"], set()).add(record.value["order_id"])

    def view(self) -> dict[str, list[str]]:
        """``{customer: [order ids, in the order placed]}``."""
        return {customer: sorted(orders) for customer, orders in self.orders.items()}
