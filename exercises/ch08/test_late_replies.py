"""ch08 · task 4 · A copy of a reply, or a reply after the saga moved on, changes nothing."""

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
    SHIPPED_AFTER_CHARGE,
    STEP_ONCE,
    MONEY_BALANCED,
    STOCK_CONSERVED,
    NO_PHANTOM_COMMAND,
]


@pytest.mark.task(4)
@pytest.mark.points(3)
def test_a_reply_that_arrives_twice_moves_the_saga_once(kit):
    """a reply that arrives twice moves its saga once"""
    saga = kit.component(MODULE, NAME)
    kit.once(order_saga, saga, kit.traces("reply-twice"), PROMISES)


@pytest.mark.task(4)
@pytest.mark.points(2)
def test_a_reply_after_the_compensation_changes_nothing(kit):
    """a reply that arrives after its saga was compensated neither charges nor ships"""
    saga = kit.component(MODULE, NAME)
    kit.once(order_saga, saga, kit.traces("reply-after-compensation"), PROMISES)
