"""ch02 · task 2 · Resume where the group left off."""

import pytest

from harness.promises import COMMITTED_PROCESSED, NO_DUPLICATE, NO_LOSS, NO_SWALLOW, SETTLED
from harness.workloads import shipping_log

MODULE, NAME = "ch02/shipping.py", "ShippingConsumer"


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_a_new_group_ships_what_was_waiting(kit):
    """a group with no committed offset, or one that retention passed, ships every record left"""
    consumer = kit.component(MODULE, NAME)
    kit.once(
        shipping_log,
        consumer,
        kit.traces("resume-*"),
        [NO_SWALLOW, COMMITTED_PROCESSED, NO_LOSS, NO_DUPLICATE, SETTLED],
    )


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_a_restart_resumes_at_the_committed_offset(kit):
    """after any single crash, shipping resumes at the committed offset: nothing is skipped"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        shipping_log,
        consumer,
        kit.traces("resume-*"),
        [NO_SWALLOW, COMMITTED_PROCESSED, NO_LOSS, SETTLED],
    )


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_restarts_resume_at_the_committed_offset_under_many_crashes(kit):
    """under several crashes and idle spells, every restart resumes where the group committed"""
    consumer = kit.component(MODULE, NAME)
    kit.random_faults(shipping_log, consumer, [NO_SWALLOW, COMMITTED_PROCESSED, NO_LOSS, SETTLED])
