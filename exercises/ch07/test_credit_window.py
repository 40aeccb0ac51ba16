"""ch07 · task 1 · A credit window: take no more than you can hold, keep the warehouse busy."""

import pytest

from harness.promises import (
    FULL_THROUGHPUT,
    LAG_DRAINS,
    NO_HOARDING,
    NO_SWALLOW,
    NOTHING_DROPPED,
    WITHIN_WINDOW,
)
from harness.workloads import flash_sale

MODULE, NAME = "ch07/paced_consumer.py", "PacedConsumer"


@pytest.mark.task(1)
@pytest.mark.points(2)
def test_a_burst_ten_times_the_rate_stays_within_the_window(kit):
    """a burst ten times the consumer's rate, or ten windows at once, never holds more than the
    window, and keeps the warehouse busy"""
    consumer = kit.component(MODULE, NAME)
    traces = kit.traces("burst-ten-times") + kit.traces("all-at-once")
    kit.once(
        flash_sale,
        consumer,
        traces,
        [NOTHING_DROPPED, WITHIN_WINDOW, FULL_THROUGHPUT, LAG_DRAINS],
    )


@pytest.mark.task(1)
@pytest.mark.points(2)
def test_nothing_is_lost_under_any_single_crash(kit):
    """no accepted order is lost and the window holds, whatever single crash strikes"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        flash_sale,
        consumer,
        kit.traces("three-orders"),
        [NO_SWALLOW, NOTHING_DROPPED, WITHIN_WINDOW, LAG_DRAINS],
    )


@pytest.mark.task(1)
@pytest.mark.points(2)
def test_a_slow_consumer_hoards_nothing_its_peers_could_take(kit):
    """a slow consumer among fast ones keeps no more than its window, while they take the rest"""
    consumer = kit.component(MODULE, NAME)
    kit.once(
        flash_sale,
        consumer,
        kit.traces("slow-among-fast"),
        [NOTHING_DROPPED, WITHIN_WINDOW, NO_HOARDING, FULL_THROUGHPUT, LAG_DRAINS],
    )


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_a_consumer_that_stalls_twice_recovers(kit):
    """a warehouse that stalls twice, behind a full queue, then drains everything"""
    consumer = kit.component(MODULE, NAME)
    kit.once(
        flash_sale,
        consumer,
        kit.traces("consumer-stalls"),
        [NOTHING_DROPPED, WITHIN_WINDOW, FULL_THROUGHPUT, LAG_DRAINS],
    )
