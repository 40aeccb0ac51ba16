"""ch00 · task 2 · An order desk that talks with messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.ports.publisher import Publisher
from harness.ports.services import SERVICES, Services

ACCEPTED = "accepted"
REFUSED = "refused"


class OrderDesk:
    """Takes customers' orders and gets each downstream service its part of the work."""

    def __init__(self, publisher: Publisher, services: Services) -> None:
        self.publisher = publisher
        self.services = services

    def place_order(self, order: Mapping[str, Any]) -> str:
        """Take ``order`` (``{"order_id": str, "amount": number}``); answer ACCEPTED or REFUSED."""
        order_id = order["order_id"]
        body = {"order_id": order_id, "amount": order["amount"]}
        for service in SERVICES:
            # The broker keeps every message until its service is back: nothing can fail here.
            self.publisher.publish(service, body, message_id=f"{order_id}:{service}")
        return ACCEPTED
