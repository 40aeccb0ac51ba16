"""ch07 · task 3 · Meet a refusal: keep the order, back off, never drop it, never spin."""

import pytest

from harness.promises import BACKS_OFF, LAG_DRAINS, NOTHING_DROPPED
from harness.workloads import flash_sale
from harness.workloads.flash_sale import Sale

MODULE, NAME = "ch07/order_intake.py", "OrderIntake"


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_a_memory_alarm_is_waited_out_with_a_growing_backoff(kit):
    """a broker whose memory alarm blocks publishing for 0.2 s: every accepted order is
    published once it clears, after waits that grow"""
    intake = kit.component(MODULE, NAME)
    kit.once(
        flash_sale,
        Sale(intake=intake),
        kit.traces("broker-refuses"),
        [NOTHING_DROPPED, BACKS_OFF, LAG_DRAINS],
    )


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_a_full_queue_that_nacks_is_never_a_drop(kit):
    """a full queue nacks most publishes (reject-publish): none is dropped, none retried at
    once"""
    intake = kit.component(MODULE, NAME)
    traces = kit.traces("queue-full") + kit.traces("consumer-stalls")
    kit.once(flash_sale, Sale(intake=intake), traces, [NOTHING_DROPPED, BACKS_OFF, LAG_DRAINS])
