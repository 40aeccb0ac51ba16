"""ch08 · task 3 · Time out on the virtual clock, and send a compensation again under its id."""

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
    STEP_ONCE,
    NO_PHANTOM_COMMAND,
    SHIPPED_AFTER_CHARGE,
    MONEY_BALANCED,
    STOCK_CONSERVED,
]


@pytest.mark.task(3)
@pytest.mark.points(3)
def test_shipping_that_never_answers_times_out_whatever_single_crash(kit):
    """shipping that never answers times out, and the saga is refunded and released, whatever
    single crash"""
    saga = kit.component(MODULE, NAME)
    kit.every_single_crash(order_saga, saga, kit.traces("shipping-times-out"), PROMISES)


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_a_compensation_sent_again_takes_effect_once(kit):
    """a refund whose reply comes late is sent again, and refunds once"""
    saga = kit.component(MODULE, NAME)
    kit.once(order_saga, saga, kit.traces("refund-reply-late"), PROMISES)
