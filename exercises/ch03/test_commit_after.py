"""ch03 · task 4 · At least once on the log: process, then commit every N records."""

from functools import partial

import pytest

from harness.promises import NO_DUPLICATE, NO_LOSS, NO_SWALLOW, SETTLED, duplicates_within
from harness.workloads import payments_log

MODULE, NAME = "ch03/commit_after.py", "CommitAfterConsumer"


@pytest.mark.task(4)
@pytest.mark.points(1)
def test_every_record_is_charged_once_through_gateway_timeouts(kit):
    """every order is charged exactly once when nothing crashes, timeouts included"""
    consumer = kit.component(MODULE, NAME)
    for every in (1, 3):
        kit.once(
            payments_log,
            partial(consumer, every=every),
            kit.traces("log-*"),
            [NO_SWALLOW, NO_LOSS, NO_DUPLICATE, SETTLED],
        )


@pytest.mark.task(4)
@pytest.mark.points(2)
def test_no_record_is_lost_whatever_single_crash(kit):
    """no order is lost, whatever single crash strikes (committing after every record)"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        payments_log,
        partial(consumer, every=1),
        kit.traces("log-*"),
        [NO_SWALLOW, NO_LOSS, SETTLED],
    )


@pytest.mark.task(4)
@pytest.mark.points(2)
def test_each_crash_repeats_at_most_n_records(kit):
    """committing every 3 records: nothing lost, and a crash charges at most 3 orders again"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        payments_log,
        partial(consumer, every=3),
        kit.traces("log-*"),
        [NO_SWALLOW, NO_LOSS, duplicates_within(3), SETTLED],
    )


@pytest.mark.task(4)
@pytest.mark.points(1)
def test_no_record_is_lost_under_many_crashes(kit):
    """committing every 2 records: nothing lost and duplicates bounded under several crashes"""
    consumer = kit.component(MODULE, NAME)
    kit.random_faults(
        payments_log,
        partial(consumer, every=2),
        [NO_SWALLOW, NO_LOSS, duplicates_within(2), SETTLED],
        partitions=2,
    )
