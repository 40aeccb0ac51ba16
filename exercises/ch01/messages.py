"""ch01 · task 1 · The order flow's messages: commands, events and queries."""

from __future__ import annotations

from typing import Any

from harness.ports.messaging import Refused  # noqa: F401

# Commands: imperative, addressed to one handler, which may refuse them.
PLACE_ORDER = "PlaceOrder"
CHARGE_PAYMENT = "ChargePayment"
# Events: past tense, facts that already happened; nobody can refuse them.
ORDER_PLACED = "OrderPlaced"
PAYMENT_CAPTURED = "PaymentCaptured"
# Queries: a question that gets a reply and changes nothing.
GET_ORDER_STATUS = "GetOrderStatus"


class OrderFlow:
    """The order flow's state, changed by commands and events, read by queries.

    Every message is a dict with a ``"type"``:

    - ``handle(command)`` takes a command, ``PlaceOrder`` or ``ChargePayment``
      (``{"type", "order_id", "amount"}``). It may refuse it: raise ``Refused`` with
      the reason, and change nothing. Accepted, it returns the events that say what
      happened (``OrderPlaced``, ``PaymentCaptured``, with the same ``order_id`` and
      ``amount``) and the flow's state has changed accordingly.
    - ``apply(event)`` takes an event that happened elsewhere. An event is a fact:
      it is never refused, whatever the state.
    - ``answer(query)`` takes ``GetOrderStatus`` (``{"type", "order_id"}``) and
      returns ``{"order_id": ..., "status": "unknown" | "placed" | "paid"}``.
      A query changes nothing.
    """

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}

    def handle(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        """Decide on a command: refuse it (raise ``Refused``), or return its events."""
        raise NotImplementedError(
            "TODO(ch01.1): accept or refuse PlaceOrder and ChargePayment, and return the "
            "past-tense events of an accepted command"
        )

    def apply(self, event: dict[str, Any]) -> None:
        """Record an event that happened elsewhere; a fact is never refused."""
        raise NotImplementedError(
            "TODO(ch01.1): record OrderPlaced and PaymentCaptured, whatever the state"
        )

    def answer(self, query: dict[str, Any]) -> dict[str, Any]:
        """Answer GetOrderStatus without changing anything."""
        raise NotImplementedError(
            "TODO(ch01.1): answer GetOrderStatus with the order's status, changing nothing"
        )
