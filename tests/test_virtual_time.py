"""Learner code that reads the time sees the world's virtual clock (DESIGN.md §3)."""

import time
from datetime import datetime, timedelta, timezone

from harness.clock import EPOCH
from harness.explore import Explorer
from harness.promises import NO_LOSS
from harness.workloads import payments_queue


def test_learner_code_reads_the_virtual_clock():
    """time.time(), time.monotonic() and datetime.now() follow the world's clock, not the wall"""
    seen = []

    class Clockwatcher:
        def __init__(self, channel, payments):
            self.channel, self.payments = channel, payments

        def on_message(self, delivery):
            seen.append((time.time(), time.monotonic(), datetime.now(timezone.utc)))
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
            self.channel.ack(delivery.tag)

    trace = payments_queue.generate((0, 0))
    Explorer().once(payments_queue, Clockwatcher, [trace], [NO_LOSS])
    assert len(seen) == 2
    (wall_1, mono_1, now_1), (wall_2, mono_2, now_2) = seen
    assert wall_1 == EPOCH.timestamp() + 0.001
    assert now_1 == EPOCH + timedelta(seconds=0.001)
    assert wall_2 == EPOCH.timestamp() + 0.002
    assert mono_2 - mono_1 == wall_2 - wall_1
    assert time.time() > EPOCH.timestamp() + 86400 * 300  # the wall clock is back afterwards
