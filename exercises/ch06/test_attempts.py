"""ch06 · task 2 · Count the attempts durably, stop at the maximum, say why."""

import pytest

from harness.promises import DEAD_LETTER_EXPLAINED, ENDS, NO_SWALLOW, WITHIN_ATTEMPTS
from harness.workloads import payments_retry

MODULE, NAME = "ch06/retrying_consumer.py", "RetryingConsumer"
PROMISES = [NO_SWALLOW, ENDS, WITHIN_ATTEMPTS, DEAD_LETTER_EXPLAINED]


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_an_outage_ends_in_the_dead_letter_queue_after_max_attempts(kit):
    """an outage longer than the attempts ends in the dead-letter queue, saying why"""
    consumer = kit.component(MODULE, NAME)
    kit.once(payments_retry, consumer, kit.traces("outage-past-the-budget"), PROMISES)


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_a_message_that_kills_the_consumer_still_runs_out_of_attempts(kit):
    """a message that kills the consumer is dead-lettered after max_attempts, whatever single
    crash"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(payments_retry, consumer, kit.traces("crashes-the-process"), PROMISES)
