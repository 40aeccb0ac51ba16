"""ch04 · task 1 · An idempotent consumer: a dedup table in the same transaction as the effect."""

import pytest

from harness import shrinking
from harness.promises import NO_DUPLICATE, NO_LOSS, NO_SWALLOW, RETENTION, SETTLED
from harness.workloads import payments_inbox

MODULE, NAME = "ch04/idempotent_consumer.py", "IdempotentConsumer"
EXACTLY_ONCE = [NO_SWALLOW, NO_DUPLICATE, NO_LOSS, SETTLED]


def _within_window(kit):
    return [t for t in kit.traces("inbox-*") if "after-window" not in t.name]


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_each_payment_is_captured_once_despite_duplicates(kit):
    """each payment is captured exactly once when nothing crashes, duplicates included"""
    consumer = kit.component(MODULE, NAME)
    kit.once(payments_inbox, consumer, _within_window(kit), EXACTLY_ONCE)


@pytest.mark.task(1)
@pytest.mark.points(2)
def test_each_payment_is_captured_once_whatever_single_crash(kit):
    """each payment is captured exactly once, whatever single crash strikes"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(payments_inbox, consumer, _within_window(kit), EXACTLY_ONCE)


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_each_payment_is_captured_once_under_many_crashes(kit):
    """each payment is captured exactly once under duplicates, disorder and several crashes"""
    consumer = kit.component(MODULE, NAME)
    shrinking.random_faults(kit, payments_inbox, consumer, EXACTLY_ONCE)


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_a_duplicate_after_the_window_is_captured_again(kit):
    """a duplicate within the retention window changes nothing; one after it is captured again"""
    consumer = kit.component(MODULE, NAME)
    traces = kit.traces("inbox-duplicate-after-window")
    kit.once(payments_inbox, consumer, traces, [NO_SWALLOW, RETENTION, SETTLED])
