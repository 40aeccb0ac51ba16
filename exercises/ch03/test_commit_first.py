"""ch03 · task 3 · At most once on the log: commit first, then process."""

import pytest

from harness.promises import NO_DUPLICATE, NO_LOSS, NO_SWALLOW, SETTLED
from harness.workloads import payments_log

MODULE, NAME = "ch03/commit_first.py", "CommitFirstConsumer"


@pytest.mark.task(3)
@pytest.mark.points(1)
def test_every_record_is_charged_and_committed_when_nothing_goes_wrong(kit):
    """every record is charged and committed when nothing crashes and nothing fails"""
    consumer = kit.component(MODULE, NAME)
    calm = [t for t in kit.traces("log-*") if not any(s.action == "fail" for s in t.steps)]
    kit.once(payments_log, consumer, calm, [NO_SWALLOW, NO_LOSS, NO_DUPLICATE, SETTLED])


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_no_record_is_charged_twice_whatever_single_crash(kit):
    """no order is charged twice, whatever single crash strikes"""
    consumer = kit.component(MODULE, NAME)
    kit.every_single_crash(
        payments_log, consumer, kit.traces("log-*"), [NO_SWALLOW, NO_DUPLICATE, SETTLED]
    )


@pytest.mark.task(3)
@pytest.mark.points(1)
def test_no_record_is_charged_twice_under_many_crashes(kit):
    """no order is charged twice under several crashes, on two partitions"""
    consumer = kit.component(MODULE, NAME)
    kit.random_faults(payments_log, consumer, [NO_SWALLOW, NO_DUPLICATE, SETTLED], partitions=2)
