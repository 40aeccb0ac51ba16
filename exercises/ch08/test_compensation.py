"""ch08 · task 2 · Compensate in reverse order: refund, then release."""

import pytest

from harness.promises import (
    COMPENSATED_IN_REVERSE,
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
    COMPENSATED_IN_REVERSE,
    NO_PHANTOM_COMMAND,
    STEP_ONCE,
    SHIPPED_AFTER_CHARGE,
    MONEY_BALANCED,
    STOCK_CONSERVED,
]


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_a_refused_payment_releases_the_stock_whatever_single_crash(kit):
    """a refused payment releases the stock and ends Compensated, whatever single crash"""
    saga = kit.component(MODULE, NAME)
    kit.every_single_crash(order_saga, saga, kit.traces("payment-refused"), PROMISES)


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_a_refused_parcel_is_refunded_then_released(kit):
    """a refused parcel is refunded, then its stock released; the other sagas of the same
    stock keep theirs"""
    saga = kit.component(MODULE, NAME)
    traces = kit.traces("shipping-refused") + kit.traces("three-sagas-two-units")
    kit.once(order_saga, saga, traces, PROMISES)
