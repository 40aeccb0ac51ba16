"""ch00 · task 2 · An order desk that talks with messages: accept whatever is down downstream."""

import pytest

from harness.promises import (
    ACCEPTED_NOT_CONFIRMED,
    ACCEPTS_WHILE_BROKER_UP,
    REACHES_EVERY_SERVICE,
    REFUSES_WHEN_BROKER_DOWN,
    UNIQUE_MESSAGE_ID,
)
from harness.workloads import order_desk

MODULE, NAME = "ch00/order_desk.py", "OrderDesk"


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_every_order_is_accepted_and_reaches_every_service(kit):
    """every order is accepted, never confirmed, and reaches all five services, once each"""
    desk = kit.component(MODULE, NAME)
    kit.every_single_crash(
        order_desk,
        desk,
        kit.traces("all-up"),
        [ACCEPTED_NOT_CONFIRMED, ACCEPTS_WHILE_BROKER_UP, UNIQUE_MESSAGE_ID, REACHES_EVERY_SERVICE],
    )


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_orders_are_accepted_whatever_service_is_down(kit):
    """an order is accepted whatever service is down, and reaches it once it is back"""
    desk = kit.component(MODULE, NAME)
    traces = [t for t in kit.traces() if t.name not in ("all-up", "broker-outage")]
    kit.every_single_crash(
        order_desk,
        desk,
        traces,
        [ACCEPTS_WHILE_BROKER_UP, UNIQUE_MESSAGE_ID, REACHES_EVERY_SERVICE, ACCEPTED_NOT_CONFIRMED],
    )


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_the_desk_refuses_while_the_broker_is_down(kit):
    """while the broker is down the desk refuses clearly, and accepts again once it is back"""
    desk = kit.component(MODULE, NAME)
    kit.every_single_crash(
        order_desk,
        desk,
        kit.traces("broker-outage"),
        [
            REFUSES_WHEN_BROKER_DOWN,
            ACCEPTS_WHILE_BROKER_UP,
            UNIQUE_MESSAGE_ID,
            REACHES_EVERY_SERVICE,
            ACCEPTED_NOT_CONFIRMED,
        ],
    )


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_every_promise_holds_under_generated_outages(kit):
    """every promise holds under outages of the services and the broker drawn by Hypothesis"""
    desk = kit.component(MODULE, NAME)
    kit.random_faults(
        order_desk,
        desk,
        [
            REFUSES_WHEN_BROKER_DOWN,
            ACCEPTS_WHILE_BROKER_UP,
            UNIQUE_MESSAGE_ID,
            REACHES_EVERY_SERVICE,
            ACCEPTED_NOT_CONFIRMED,
        ],
    )
