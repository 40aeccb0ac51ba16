"""ch06 · task 1 · Transient or permanent: try a timeout again, dead-letter a declined card."""

import pytest

from harness.promises import ENDS, NO_SWALLOW, PERMANENT_NOT_RETRIED, TRANSIENT_RECOVERS
from harness.workloads import payments_retry

MODULE, NAME = "ch06/retrying_consumer.py", "RetryingConsumer"


@pytest.mark.task(1)
@pytest.mark.points(2)
def test_a_declined_card_goes_to_the_dead_letter_queue_at_once(kit):
    """a declined card goes to the dead-letter queue after one attempt, whatever single crash"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        payments_retry,
        consumer,
        kit.traces("decline-among-healthy"),
        [NO_SWALLOW, ENDS, PERMANENT_NOT_RETRIED],
    )


@pytest.mark.task(1)
@pytest.mark.points(2)
def test_a_timeout_that_clears_within_the_attempts_is_captured(kit):
    """a timeout that clears on the last attempt allowed is captured, whatever single crash"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        payments_retry,
        consumer,
        kit.traces("transient-clears-on-3"),
        [NO_SWALLOW, ENDS, TRANSIENT_RECOVERS],
    )
