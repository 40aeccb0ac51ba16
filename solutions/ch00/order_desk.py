"""ch00 · task 2 · An order desk that talks with messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.broker import BrokerUnavailable
from harness.ports.publisher import Publisher
from harness.ports.services import SERVICES, Services

ACCEPTED = "accepted"
REFUSED = "refused"


class OrderDesk:
    """Takes customers' orders and gets each downstream service its part of the work.

    Promise: while the broker is up, every order is accepted, whatever state
    the five services are in, and reaches every service once it is back; the
    answer is ACCEPTED, never "confirmed"; while the broker is down, the
    answer is REFUSED and no service acts on the order.
    """

    def __init__(self, publisher: Publisher, services: Services) -> None:
        self.publisher = publisher
        self.services = services

    def place_order(self, order: Mapping[str, Any]) -> str:
        """Take ``order`` (``{"order_id": str, "amount": number}``); answer ACCEPTED or REFUSED."""
        order_id = order["order_id"]
        body = {"order_id": order_id, "amount": order["amount"]}
        try:
            for service in SERVICES:
                # A message, not a call: the broker keeps it until the service is back.
                self.publisher.publish(service, body, message_id=f"{order_id}:{service}")
        except BrokerUnavailable:
            # The mailbox is shut: say so, rather than accept an order nobody will ever see.
            return REFUSED
        # The broker holds every message; that is all the desk knows, so it is all it says.
        return ACCEPTED
