"""ch04 · task 2 · A sequence-gap buffer: per key, in order, bounded, never waiting forever."""

import pytest

from harness import shrinking
from harness.promises import (
    BOUNDED,
    GAP_TIMEOUT,
    NO_DUPLICATE,
    NO_LOSS,
    NO_SWALLOW,
    PER_KEY_ORDER,
    SETTLED,
)
from harness.workloads import order_resequencer

MODULE, NAME = "ch04/resequencer.py", "Resequencer"
IN_ORDER = [NO_SWALLOW, NO_DUPLICATE, PER_KEY_ORDER, NO_LOSS, GAP_TIMEOUT, SETTLED]


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_releases_each_order_in_sequence(kit):
    """per order, events are released in sequence, each once: early ones held, stale ones dropped"""
    resequencer = kit.component(MODULE, NAME)
    traces = [
        *kit.traces("reseq-duplicates-and-retry"),
        *kit.traces("reseq-gap-filled-late"),
        *kit.traces("reseq-many-orders"),
    ]
    kit.once(order_resequencer, resequencer, traces, IN_ORDER)


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_escalates_a_gap_after_the_timeout(kit):
    """a gap never filled is escalated once the gap timeout has passed, not before, not never"""
    resequencer = kit.component(MODULE, NAME)
    traces = [*kit.traces("reseq-gap-never-filled"), *kit.traces("reseq-gaps-in-three-orders")]
    kit.once(order_resequencer, resequencer, traces, IN_ORDER)


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_a_full_buffer_says_so(kit):
    """a full buffer refuses (BufferFull): it never grows past its capacity and drops nothing"""
    resequencer = kit.component(MODULE, NAME)
    # Bounded before the gap timeout: refusing an event that needed no room is the mistake,
    # the escalation that then gives it up follows from it.
    promises = [*IN_ORDER[:4], BOUNDED, *IN_ORDER[4:]]
    traces = [*kit.traces("reseq-buffer-full"), *kit.traces("reseq-buffer-full-gap-never-filled")]
    kit.once(order_resequencer, resequencer, traces, promises)


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_stays_in_order_under_generated_disorder(kit):
    """per order in sequence, bounded, nothing stuck, under generated duplicates and disorder"""
    resequencer = kit.component(MODULE, NAME)
    shrinking.random_faults(
        kit, order_resequencer, resequencer, [*IN_ORDER, BOUNDED], max_crashes=0
    )
