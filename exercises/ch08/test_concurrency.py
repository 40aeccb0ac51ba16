"""ch08 · task 5 · Optimistic concurrency: two orchestrators never overwrite each other."""

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


@pytest.mark.task(5)
@pytest.mark.points(2)
def test_a_stale_move_of_a_second_orchestrator_changes_nothing(kit):
    """an orchestrator that read a saga before the other one moved it changes nothing"""
    saga = kit.component(MODULE, NAME)
    kit.once(
        order_saga,
        saga,
        kit.traces("two-orchestrators"),
        [
            NO_SWALLOW,
            SAGA_ENDS,
            SHIPPED_AFTER_CHARGE,
            MONEY_BALANCED,
            STOCK_CONSERVED,
            STEP_ONCE,
            NO_PHANTOM_COMMAND,
        ],
    )
