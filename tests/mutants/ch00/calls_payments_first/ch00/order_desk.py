"""ch00 · task 2 · An order desk that talks with messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.broker import BrokerUnavailable
from harness.ports.publisher import Publisher
from harness.ports.services import SERVICES, Services, ServiceUnavailable

ACCEPTED = "accepted"
REFUSED = "refused"


class OrderDesk:
    """Takes customers' orders and gets each downstream service its part of the work."""

    def __init__(self, publisher: Publisher, services: Services) -> None:
        self.publisher = publisher
        self.services = services

    def place_order(self, order: Mapping[str, Any]) -> str:
        order_id = order["order_id"]
        body = {"order_id": order_id, "amount": order["amount"]}
        try:
            # Take the payment first: no point shipping an order that cannot be paid.
            self.services.call("payments", order_id)
        except ServiceUnavailable:
            return REFUSED
        try:
            for service in SERVICES:
                if service != "payments":
                    self.publisher.publish(service, body, message_id=f"{order_id}:{service}")
        except BrokerUnavailable:
            return REFUSED
        return ACCEPTED
