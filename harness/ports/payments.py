"""The payments port: the payment service a consumer calls to charge an order."""

from __future__ import annotations

from harness.faults import Gate
from harness.gateway import PaymentFailed, PaymentGateway

__all__ = ["Payments", "PaymentFailed"]


class Payments:
    """Charges an order's payment through the gateway. A charge cannot be undone.

    ``charge`` raises :class:`PaymentFailed` when the gateway fails; a failure
    with ``transient=True`` may succeed if tried again later.
    """

    __slots__ = ("_gateway", "_gate")

    def __init__(self, gateway: PaymentGateway, gate: Gate) -> None:
        self._gateway = gateway
        self._gate = gate

    def charge(self, order_id: str, amount: float) -> None:
        """Charge ``amount`` for ``order_id``."""
        actor = self._gate.actor
        self._gate.call(f"charge {order_id}", lambda: self._gateway.charge(actor, order_id, amount))
