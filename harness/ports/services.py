"""The services port: direct, synchronous calls to the order desk's downstream services."""

from __future__ import annotations

from typing import Any

from harness.faults import Gate
from harness.services import SERVICES, DownstreamServices, ServiceUnavailable

__all__ = ["SERVICES", "ServiceUnavailable", "Services"]


class Services:
    """Calls a downstream service and waits for it: the way an order desk works without messages.

    ``call(service, order_id)`` returns once ``service`` has done its part of
    the order. While the service is down it raises
    :class:`~harness.services.ServiceUnavailable`: the caller cannot go on
    without it. ``service`` is one of :data:`~harness.services.SERVICES`.
    """

    __slots__ = ("_downstream", "_gate")

    def __init__(self, downstream: DownstreamServices, gate: Gate) -> None:
        self._downstream = downstream
        self._gate = gate

    def call(self, service: str, order_id: Any) -> None:
        """Ask ``service`` to do its part of ``order_id`` now, and wait until it has."""
        actor = self._gate.actor
        self._gate.call(
            f"call {service} {order_id}",
            lambda: self._downstream.call(actor, service, order_id),
        )
