"""ch04 · task 3 · A projection of order status that stays right under duplicates and disorder."""

import pytest

from harness import shrinking
from harness.promises import NO_SWALLOW, PROJECTION, SETTLED
from harness.workloads import order_projection

MODULE, NAME = "ch04/projection.py", "OrderStatusProjection"
RIGHT = [NO_SWALLOW, PROJECTION, SETTLED]


@pytest.mark.task(3)
@pytest.mark.points(1)
def test_status_is_the_events_folded_in_version_order(kit):
    """each order's status is its events folded in version order, duplicates and disorder too"""
    projection = kit.component(MODULE, NAME)
    kit.once(order_projection, projection, kit.traces("projection-*"), RIGHT)


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_status_stays_right_whatever_single_crash(kit):
    """each order's status stays right, whatever single crash strikes"""
    projection = kit.component(MODULE, NAME)
    kit.every_single_crash(order_projection, projection, kit.traces("projection-*"), RIGHT)


@pytest.mark.task(3)
@pytest.mark.points(1)
def test_status_stays_right_under_generated_disorder(kit):
    """each order's status stays right under generated duplicates, disorder and crashes"""
    projection = kit.component(MODULE, NAME)
    shrinking.random_faults(kit, order_projection, projection, RIGHT)
