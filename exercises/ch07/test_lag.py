"""ch07 · task 2 · Report the lag: how much waits for the consumer, at every moment."""

import pytest

from harness.promises import LAG_DRAINS, LAG_REPORTED, NO_SWALLOW, NOTHING_DROPPED
from harness.workloads import flash_sale
from harness.workloads.flash_sale import Sale

MODULE, NAME = "ch07/paced_consumer.py", "PacedConsumer"


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_the_lag_is_reported_and_returns_to_0_after_the_burst(kit):
    """lag() says what waits for the consumer, every 10 ms, and says 0 once the burst is
    reserved"""
    consumer = kit.component(MODULE, NAME)
    traces = kit.traces("burst-ten-times") + kit.traces("slow-among-fast")
    kit.once(flash_sale, Sale(consumer=consumer, lag=True), traces, [LAG_REPORTED, LAG_DRAINS])


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_the_lag_is_right_under_any_single_crash(kit):
    """lag() stays right after a restart, whatever single crash strikes"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        flash_sale,
        Sale(consumer=consumer, lag=True),
        kit.traces("three-orders"),
        [NO_SWALLOW, NOTHING_DROPPED, LAG_REPORTED, LAG_DRAINS],
    )
