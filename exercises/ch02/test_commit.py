"""ch02 · task 1 · Commit the next record to read."""

import pytest

from harness.promises import (
    COMMITS_NEXT_OFFSET,
    COMMITTED_PROCESSED,
    HANDOVER_REPEATS_NOTHING,
    NO_DUPLICATE,
    NO_LOSS,
    NO_SWALLOW,
    REPEATS_WITHIN_EVERY,
    SETTLED,
)
from harness.workloads import shipping_log
from harness.workloads.consumer_group import without_listener

MODULE, NAME = "ch02/shipping.py", "ShippingConsumer"


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_every_order_is_shipped_once_and_committed(kit):
    """every order is shipped once, and the committed offsets reach the end of the log"""
    consumer = without_listener(kit.component(MODULE, NAME))
    kit.once(
        shipping_log,
        consumer,
        kit.traces("restart-*"),
        [NO_SWALLOW, COMMITS_NEXT_OFFSET, COMMITTED_PROCESSED, NO_LOSS, NO_DUPLICATE, SETTLED],
    )


@pytest.mark.task(1)
@pytest.mark.points(2)
def test_a_restart_skips_nothing_committed(kit):
    """after any single crash, nothing below the committed offset was skipped"""
    consumer = without_listener(kit.component(MODULE, NAME))
    kit.every_single_crash(
        shipping_log,
        consumer,
        kit.traces("restart-*"),
        [
            NO_SWALLOW,
            COMMITS_NEXT_OFFSET,
            COMMITTED_PROCESSED,
            NO_LOSS,
            SETTLED,
            HANDOVER_REPEATS_NOTHING,
            REPEATS_WITHIN_EVERY,
        ],
    )
