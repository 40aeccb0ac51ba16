"""ch05 · task 4 · Cleanup: purge sent rows after their retention."""

import pytest

from harness.promises import EVENT_NOT_LOST, NO_SWALLOW, OUTBOX_PURGED, OUTBOX_RETAINED
from harness.workloads import outbox_cleanup

MODULE, NAME = "ch05/cleanup.py", "OutboxCleaner"
PROMISES = [NO_SWALLOW, EVENT_NOT_LOST, OUTBOX_RETAINED, OUTBOX_PURGED]


@pytest.mark.task(4)
@pytest.mark.points(1)
def test_sent_rows_go_and_unsent_rows_stay(kit):
    """each sent row stays until its retention has passed since it was sent, then goes, and
    unsent rows never go, with no crash"""
    cleaner = kit.component(MODULE, NAME)
    kit.once(outbox_cleanup, cleaner, kit.traces("cleanup-*"), PROMISES)


@pytest.mark.task(4)
@pytest.mark.points(1)
def test_no_unsent_row_is_purged_whatever_single_crash(kit):
    """no unsent row is purged, and sent ones go after their retention, not before, whatever
    single crash strikes"""
    cleaner = kit.component(MODULE, NAME)
    kit.every_single_crash(outbox_cleanup, cleaner, kit.traces("cleanup-*"), PROMISES)


@pytest.mark.task(4)
@pytest.mark.points(1)
def test_no_unsent_row_is_purged_under_many_crashes(kit):
    """the same under several crashes, with rows sent early, late or never, and other
    retentions"""
    cleaner = kit.component(MODULE, NAME)
    kit.random_faults(outbox_cleanup, cleaner, PROMISES)
