"""ch02 · task 2 · Resume where the group left off."""

import pytest

from harness.promises import (
    COMMITS_NEXT_OFFSET,
    COMMITTED_PROCESSED,
    NO_DUPLICATE,
    NO_LOSS,
    NO_SWALLOW,
    REPEATS_WITHIN_EVERY,
    RESUMES_AT_COMMITTED,
    SETTLED,
)
from harness.workloads import shipping_log

MODULE, NAME = "ch02/shipping.py", "ShippingConsumer"

GOOD_DAY = [
    NO_SWALLOW,
    RESUMES_AT_COMMITTED,
    COMMITS_NEXT_OFFSET,
    COMMITTED_PROCESSED,
    NO_LOSS,
    NO_DUPLICATE,
    SETTLED,
]


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_a_new_group_ships_what_was_waiting(kit):
    """a group with no committed offset ships every record already waiting"""
    consumer = kit.component(MODULE, NAME)
    kit.once(shipping_log, consumer, kit.traces("resume-new-*"), GOOD_DAY)


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_a_commit_that_retention_passed_resumes_at_the_oldest_record(kit):
    """a group whose committed offset retention removed ships every record left"""
    consumer = kit.component(MODULE, NAME)
    kit.once(shipping_log, consumer, kit.traces("resume-after-*"), GOOD_DAY)


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_a_restart_resumes_at_the_committed_offset(kit):
    """after any single crash, shipping resumes at the committed offset: nothing skipped"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        shipping_log,
        consumer,
        kit.traces("resume-*"),
        [
            NO_SWALLOW,
            RESUMES_AT_COMMITTED,
            COMMITS_NEXT_OFFSET,
            COMMITTED_PROCESSED,
            NO_LOSS,
            SETTLED,
            REPEATS_WITHIN_EVERY,
        ],
    )


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_restarts_resume_at_the_committed_offset_under_many_crashes(kit):
    """under several crashes and idle spells, every restart resumes where the group committed"""
    consumer = kit.component(MODULE, NAME)
    kit.random_faults(
        shipping_log,
        consumer,
        [
            NO_SWALLOW,
            RESUMES_AT_COMMITTED,
            COMMITS_NEXT_OFFSET,
            COMMITTED_PROCESSED,
            NO_LOSS,
            SETTLED,
            REPEATS_WITHIN_EVERY,
        ],
    )
