"""ch02 · task 3 · Hand over on a rebalance."""

import pytest

from harness.promises import (
    COMMITS_NEXT_OFFSET,
    COMMITTED_PROCESSED,
    HANDOVER_REPEATS_NOTHING,
    NO_DUPLICATE,
    NO_LOSS,
    NO_SWALLOW,
    REPEATS_WITHIN_EVERY,
    RESUMES_AT_COMMITTED,
    SETTLED,
)
from harness.workloads import shipping_log

MODULE, NAME = "ch02/shipping.py", "ShippingConsumer"

UNDER_CRASHES = [
    NO_SWALLOW,
    RESUMES_AT_COMMITTED,
    COMMITS_NEXT_OFFSET,
    COMMITTED_PROCESSED,
    NO_LOSS,
    SETTLED,
    HANDOVER_REPEATS_NOTHING,
    REPEATS_WITHIN_EVERY,
]


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_a_rebalance_ships_nothing_twice(kit):
    """two members share the orders; a rebalance without a crash ships nothing twice"""
    consumer = kit.component(MODULE, NAME)
    kit.once(
        shipping_log,
        consumer,
        kit.traces("rebalance-*"),
        [
            NO_SWALLOW,
            RESUMES_AT_COMMITTED,
            COMMITS_NEXT_OFFSET,
            COMMITTED_PROCESSED,
            NO_LOSS,
            NO_DUPLICATE,
            SETTLED,
        ],
    )


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_a_crash_during_a_rebalance_skips_nothing(kit):
    """whatever single crash strikes shipping-1, nothing is skipped and at most 3 orders repeat"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(shipping_log, consumer, kit.traces("rebalance-*"), UNDER_CRASHES)


@pytest.mark.task(3)
@pytest.mark.points(1)
def test_rebalances_and_crashes_together_skip_nothing(kit):
    """members come and go while shipping-1 crashes: nothing skipped, at most 3 repeats a crash"""
    consumer = kit.component(MODULE, NAME)
    kit.random_faults(shipping_log, consumer, UNDER_CRASHES, rebalance=True)
