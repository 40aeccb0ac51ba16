"""ch06 · task 4 · Replay the dead-letter queue after the fix, once."""

import pytest

from harness.promises import NO_DUPLICATE, NO_LOSS, NO_SWALLOW, REPLAYED_ONCE
from harness.workloads import payments_retry


@pytest.mark.task(4)
@pytest.mark.points(3)
def test_a_replay_after_the_fix_captures_each_dead_letter_once(kit):
    """a replay after the fix captures each dead letter exactly once, whatever single crash"""
    consumer = kit.component("ch06/retrying_consumer.py", "RetryingConsumer")
    replayer = kit.component("ch06/replayer.py", "Replayer")
    kit.every_single_crash(
        payments_retry,
        payments_retry.WithReplayer(consumer, replayer),
        kit.traces("replay-after-the-fix"),
        [NO_SWALLOW, REPLAYED_ONCE, NO_LOSS, NO_DUPLICATE],
    )
