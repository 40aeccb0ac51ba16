"""ch06 · task 3 · Back off with full jitter, in a wait queue that holds up no one."""

import pytest

from harness.promises import (
    ENDS,
    HEALTHY_NOT_HELD,
    NO_DUPLICATE,
    NO_SWALLOW,
    RETRIES_SPREAD,
    TRANSIENT_RECOVERS,
)
from harness.workloads import payments_retry

MODULE, NAME = "ch06/retrying_consumer.py", "RetryingConsumer"


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_no_healthy_payment_waits_behind_a_poison_one(kit):
    """no healthy payment waits behind a failing one"""
    consumer = kit.component(MODULE, NAME)
    traces = kit.traces("poison-among-healthy") + kit.traces("crashes-the-process")
    kit.once(payments_retry, consumer, traces, [ENDS, HEALTHY_NOT_HELD])


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_retries_spread_out_when_1000_payments_fail_at_once(kit):
    """retries wait a random time up to their ceiling, and spread out when 1,000 fail at once"""
    consumer = kit.component(MODULE, NAME)
    traces = [
        *kit.traces("outage-past-the-budget"),
        *kit.traces("twenty-fail-at-once"),
        *kit.traces("thousand-fail-at-once"),
    ]
    kit.once(payments_retry, consumer, traces, [ENDS, RETRIES_SPREAD])


@pytest.mark.task(3)
@pytest.mark.points(1)
def test_a_payment_waiting_for_its_retry_is_never_lost(kit):
    """a payment on its way to the wait queue and back is never lost nor captured twice,
    whatever single crash"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        payments_retry,
        consumer,
        kit.traces("one-timeout"),
        [NO_SWALLOW, ENDS, TRANSIENT_RECOVERS, NO_DUPLICATE],
    )
