"""ch02 · task 4 · A late read model rebuilds history from the log."""

from __future__ import annotations

from harness.ports import LogClient


class OrderHistory:
    """The order-history read model: each customer's orders, in the order they were placed.

    It keeps its view in memory only, in a group of its own.

    Promise: whenever it starts, and whatever crashes wipe its memory, its
    final ``view()`` is the one built from every record of the log exactly
    once: nothing missing, nothing counted twice.

    Each record's ``value`` has ``"customer"`` and ``"order_id"``.
    ``self.client.seek_to_beginning(partitions)`` and
    ``self.client.seek_to_end(partitions)`` choose where the next poll starts.
    """

    def __init__(self, client: LogClient) -> None:
        self.client = client

    def on_partitions_assigned(self, partitions: list[int]) -> None:
        """The group gave this member ``partitions``: decide where each one starts."""
        raise NotImplementedError(
            "TODO(ch02.4): start each assigned partition where a read model with empty memory "
            "must start"
        )

    def poll_once(self) -> None:
        """One turn of the poll loop: add each new record's order to its customer's list."""
        raise NotImplementedError(
            "TODO(ch02.4): poll, and append each record's order to its customer's list"
        )

    def view(self) -> dict[str, list[str]]:
        """``{customer: [order ids, in the order placed]}``."""
        raise NotImplementedError("TODO(ch02.4): return each customer's orders, as plain lists")
