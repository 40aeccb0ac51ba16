"""ch01 · task 1 · The order flow's messages: commands, events and queries."""

from __future__ import annotations

from typing import Any

from harness.ports.messaging import Refused

# Commands: imperative, addressed to one handler, which may refuse them.
PLACE_ORDER = "PlaceOrder"
CHARGE_PAYMENT = "ChargePayment"
# Events: past tense, facts that already happened; nobody can refuse them.
ORDER_PLACED = "OrderPlaced"
PAYMENT_CAPTURED = "PaymentCaptured"
# Queries: a question that gets a reply and changes nothing.
GET_ORDER_STATUS = "GetOrderStatus"


class OrderFlow:
    """The order flow's state, changed by commands and events, read by queries."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}

    def handle(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        """Decide on a command: refuse it (raise ``Refused``), or return its events."""
        kind, order_id, amount = command["type"], command["order_id"], command["amount"]
        known = self.orders.get(order_id)
        # A command is a request: check everything first, so a refusal leaves no trace.
        if kind == PLACE_ORDER:
            if known is not None:
                raise Refused(f"order {order_id} already exists")
            if amount < 0:
                raise Refused(f"order {order_id}: the amount cannot be negative, not {amount}")
            event = {"type": ORDER_PLACED, "order_id": order_id, "amount": amount}
        elif kind == CHARGE_PAYMENT:
            if known is None:
                raise Refused(f"order {order_id} is unknown")
            if known["status"] == "paid":
                raise Refused(f"order {order_id} is already paid")
            if amount != known["amount"]:
                raise Refused(f"order {order_id} costs {known['amount']}, not {amount}")
            event = {"type": PAYMENT_CAPTURED, "order_id": order_id, "amount": amount}
        else:
            raise Refused(f"{kind!r} is not a command of the order flow")
        # The state changes only through events, so a command and a fact change it alike.
        self.apply(event)
        return [event]

    def apply(self, event: dict[str, Any]) -> None:
        """Record an event that happened elsewhere; a fact is never refused."""
        order_id, amount = event["order_id"], event["amount"]
        # A fact may arrive before the facts it follows (a payment before its order):
        # record it anyway, never refuse it, and never move an order back.
        order = self.orders.setdefault(order_id, {"amount": amount, "status": "placed"})
        order["amount"] = amount
        if event["type"] == PAYMENT_CAPTURED:
            order["status"] = "paid"

    def answer(self, query: dict[str, Any]) -> dict[str, Any]:
        """Answer GetOrderStatus without changing anything."""
        order_id = query["order_id"]
        # Read with get(), never setdefault(): asking about an order must not create it.
        order = self.orders.get(order_id)
        return {"order_id": order_id, "status": order["status"] if order else "unknown"}
