"""ch00 · task 1 · The availability of a synchronous chain: 0.99 five times is not 0.99."""

import math

import pytest

from harness.ports.services import SERVICES, ServiceUnavailable
from harness.workloads import order_desk

MODULE, NAME = "ch00/availability.py", "chain_availability"


class SynchronousDesk:
    """Today's desk: it calls the five services one after the other and waits for each.

    If one of them is down, the customer's order fails.
    """

    def __init__(self, publisher, services):
        self.services = services

    def place_order(self, order):
        try:
            for service in SERVICES:
                self.services.call(service, order["order_id"])
        except ServiceUnavailable:
            return "refused"
        return "accepted"


EXAMPLES = [
    ("five services at 0.99", [0.99] * 5, 0.99**5),
    ("eight services at 0.99: every service added makes it worse", [0.99] * 8, 0.99**8),
    ("two services", [0.9, 0.5], 0.45),
    ("one service", [0.97], 0.97),
    ("five services always up", [1.0] * 5, 1.0),
    ("one service always down", [0.99, 0.0, 0.99], 0.0),
    ("no service at all", [], 1.0),
]


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_a_chain_is_up_only_when_every_service_is_up(kit):
    """a chain of services is up only when every one of them is up at once"""
    chain_availability = kit.component(MODULE, NAME)
    for label, availabilities, expected in EXAMPLES:
        got = chain_availability(list(availabilities))
        if not (isinstance(got, (int, float)) and math.isclose(got, expected, abs_tol=1e-9)):
            pytest.fail(
                f"chain_availability({availabilities}) returned {got!r}; expected "
                f"{expected:.6f} ({label}).\n"
                "The desk takes an order only when every one of these services is up at once.",
                pytrace=False,
            )


SIMULATED = [
    ("five-services-at-99", (0.99,) * 5),
    ("five-different-services", (0.95, 0.9, 0.99, 0.8, 0.97)),
]


@pytest.mark.task(1)
@pytest.mark.points(2)
@pytest.mark.parametrize("availabilities", [s[1] for s in SIMULATED], ids=[s[0] for s in SIMULATED])
def test_the_arithmetic_agrees_with_the_simulation(kit, availabilities):
    """predicts the share of orders a synchronous desk accepts in the simulation"""
    chain_availability = kit.component(MODULE, NAME)
    predicted = chain_availability(list(availabilities))
    runs, orders = 20, 100
    measured = order_desk.acceptance(SynchronousDesk, availabilities, runs=runs, orders=orders)
    # Three standard errors of the measured share: a right formula is never this far off.
    tolerance = 3 * math.sqrt(measured.rate * (1 - measured.rate) / measured.placed) + 1e-9
    if not (isinstance(predicted, (int, float)) and abs(predicted - measured.rate) <= tolerance):
        pytest.fail(
            f"chain_availability({list(availabilities)}) predicts {predicted!r}, but the "
            f"synchronous desk accepted {measured.accepted} of {measured.placed} orders "
            f"({measured.rate:.1%}).\n"
            f"That is over {runs} seeded runs of {orders} orders each, where each service "
            f"({', '.join(SERVICES)}) was up at each order with its availability.\n"
            f"A prediction within {tolerance:.1%} of the measured share was expected.",
            pytrace=False,
        )
