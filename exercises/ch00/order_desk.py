"""ch00 · task 2 · An order desk that talks with messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.broker import BrokerUnavailable  # noqa: F401
from harness.ports.publisher import Publisher  # noqa: F401
from harness.ports.services import SERVICES, Services, ServiceUnavailable  # noqa: F401

ACCEPTED = "accepted"
REFUSED = "refused"


class OrderDesk:
    """Takes customers' orders and gets each downstream service its part of the work.

    Promise:

    - while the broker is up, every order is accepted, whatever state the five
      services (``SERVICES``) are in;
    - every accepted order reaches every service, once that service is back;
    - the answer is ``ACCEPTED``, never "confirmed": the desk knows only that
      the broker took the messages, and no service has acted on the order yet;
      each does its part once, later, from its message;
    - every message has an id of its own (one order for one service), which no
      other message gets, not even from a fresh desk after a crash;
    - while the broker is down, the answer is ``REFUSED``, and no service acts
      on a refused order.

    ``self.publisher.publish(queue, body, message_id=...)`` hands a message to
    the broker; each service reads the queue named after it, and finds
    ``body["order_id"]`` there. A service drops a message whose id it has
    already taken, as a copy. ``publish`` raises ``BrokerUnavailable`` while the
    broker is down. ``self.services.call(service, order_id)`` is how the old
    desk worked: it waits for the service, and raises ``ServiceUnavailable``
    while that service is down.
    """

    def __init__(self, publisher: Publisher, services: Services) -> None:
        self.publisher = publisher
        self.services = services

    def place_order(self, order: Mapping[str, Any]) -> str:
        """Take ``order`` (``{"order_id": str, "amount": number}``); answer ACCEPTED or REFUSED."""
        raise NotImplementedError(
            "TODO(ch00.2): hand one message per downstream service to the broker instead of "
            "calling them, and answer ACCEPTED, or REFUSED when the broker does not take them"
        )
