"""The warehouse port: the shipping service books one parcel per order."""

from __future__ import annotations

from collections.abc import Callable

from harness.faults import Gate

__all__ = ["Warehouse"]


class Warehouse:
    """Ships an order's parcel. A parcel, once sent, cannot be called back.

    ``ship(order_id)`` is a crash point like every call into the world: a crash
    *before* it means the parcel never left, a crash *after* it means it left
    and the caller never learned it.
    """

    __slots__ = ("_book", "_gate")

    def __init__(self, book: Callable[[str, str], None], gate: Gate) -> None:
        self._book = book
        self._gate = gate

    def ship(self, order_id: str) -> None:
        """Send the parcel of ``order_id``."""
        actor = self._gate.actor
        self._gate.call(f"ship {order_id}", lambda: self._book(actor, order_id))
