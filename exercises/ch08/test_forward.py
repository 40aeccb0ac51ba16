"""ch08 · task 1 · Reserve, charge, ship: each state and its command in one transaction."""

import pytest

from harness.promises import (
    MONEY_BALANCED,
    NO_PHANTOM_COMMAND,
    NO_SWALLOW,
    SAGA_ENDS,
    SHIPPED_AFTER_CHARGE,
    STEP_ONCE,
    STOCK_CONSERVED,
)
from harness.workloads import order_saga

MODULE, NAME = "ch08/order_saga.py", "OrderSaga"
PROMISES = [
    NO_SWALLOW,
    SAGA_ENDS,
    NO_PHANTOM_COMMAND,
    STEP_ONCE,
    SHIPPED_AFTER_CHARGE,
    MONEY_BALANCED,
    STOCK_CONSERVED,
]


@pytest.mark.task(1)
@pytest.mark.points(3)
def test_the_happy_path_completes_whatever_single_crash(kit):
    """the happy path ends Completed, charged once and shipped once, whatever single crash"""
    saga = kit.component(MODULE, NAME)
    kit.every_single_crash(order_saga, saga, kit.traces("happy-path"), PROMISES)


@pytest.mark.task(1)
@pytest.mark.points(2)
def test_out_of_stock_ends_compensated_whatever_two_crashes(kit):
    """an order the shelf cannot cover ends Compensated, whatever two crashes"""
    saga = kit.component(MODULE, NAME)
    kit.every_pair_of_crashes(order_saga, saga, kit.traces("out-of-stock"), PROMISES)
