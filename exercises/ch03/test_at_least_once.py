"""ch03 · task 2 · An at-least-once consumer on the queue: never lose an order."""

import pytest

from harness.promises import NO_DUPLICATE, NO_LOSS, NO_SWALLOW, SETTLED
from harness.workloads import payments_queue

MODULE, NAME = "ch03/at_least_once.py", "AtLeastOnceConsumer"


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_every_order_is_charged_once_through_gateway_timeouts(kit):
    """every order is charged exactly once when nothing crashes, timeouts included"""
    consumer = kit.component(MODULE, NAME)
    kit.once(
        payments_queue,
        consumer,
        kit.traces("queue-*"),
        [NO_SWALLOW, NO_LOSS, NO_DUPLICATE, SETTLED],
    )


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_no_order_is_lost_whatever_single_crash(kit):
    """no order is lost, whatever single crash strikes"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        payments_queue, consumer, kit.traces("queue-*"), [NO_SWALLOW, NO_LOSS, SETTLED]
    )


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_no_order_is_lost_under_many_crashes(kit):
    """no order is lost under several crashes and gateway timeouts"""
    consumer = kit.component(MODULE, NAME)
    kit.random_faults(payments_queue, consumer, [NO_SWALLOW, NO_LOSS, SETTLED])
