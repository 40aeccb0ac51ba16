"""ch03 · task 1 · An at-most-once consumer on the queue: never charge an order twice."""

import pytest

from harness.promises import NO_DUPLICATE, NO_LOSS, NO_SWALLOW, SETTLED
from harness.workloads import payments_queue

MODULE, NAME = "ch03/at_most_once.py", "AtMostOnceConsumer"


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_every_order_is_charged_when_nothing_goes_wrong(kit):
    """every order is charged when nothing crashes and nothing fails"""
    consumer = kit.component(MODULE, NAME)
    calm = [t for t in kit.traces("queue-*") if not any(s.action == "fail" for s in t.steps)]
    kit.once(payments_queue, consumer, calm, [NO_SWALLOW, NO_LOSS, NO_DUPLICATE, SETTLED])


@pytest.mark.task(1)
@pytest.mark.points(2)
def test_no_order_is_charged_twice_whatever_single_crash(kit):
    """no order is charged twice, whatever single crash strikes"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        payments_queue, consumer, kit.traces("queue-*"), [NO_SWALLOW, NO_DUPLICATE, SETTLED]
    )


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_no_order_is_charged_twice_whatever_two_crashes(kit):
    """no order is charged twice, whatever two crashes strike, the second during the recovery"""
    consumer = kit.component(MODULE, NAME)
    shortest = kit.traces("queue-one-order") + kit.traces("queue-three-orders")
    kit.every_pair_of_crashes(
        payments_queue, consumer, shortest, [NO_SWALLOW, NO_DUPLICATE, SETTLED]
    )


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_no_order_is_charged_twice_under_many_crashes(kit):
    """no order is charged twice under several crashes and gateway timeouts"""
    consumer = kit.component(MODULE, NAME)
    kit.random_faults(payments_queue, consumer, [NO_SWALLOW, NO_DUPLICATE, SETTLED])
