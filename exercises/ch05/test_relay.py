"""ch05 · task 2 · The outbox relay."""

import pytest

from harness.promises import (
    BACKOFF_DOUBLES,
    EVENT_NOT_LOST,
    EVENTS_IN_ORDER,
    NO_PHANTOM,
    NO_SWALLOW,
    OTHERS_NOT_HELD,
    OUTBOX_DRAINED,
    PUBLISHED_ONCE,
    SAME_MESSAGE_ID,
)
from harness.workloads import outbox_relay

MODULE, NAME = "ch05/relay.py", "OutboxRelay"
UNDER_CRASHES = [
    NO_SWALLOW,
    NO_PHANTOM,
    EVENT_NOT_LOST,
    EVENTS_IN_ORDER,
    SAME_MESSAGE_ID,
    OTHERS_NOT_HELD,
]


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_every_event_is_published_once_in_order_when_nothing_crashes(kit):
    """every event is published once, in order, and marked sent, refused publishes included"""
    relay = kit.component(MODULE, NAME)
    kit.once(
        outbox_relay,
        relay,
        kit.traces("relay-*"),
        [*UNDER_CRASHES, PUBLISHED_ONCE, OUTBOX_DRAINED, BACKOFF_DOUBLES],
    )


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_nothing_is_lost_reordered_or_renamed_whatever_single_crash(kit):
    """no event is lost or reordered, and a copy keeps its message id, whatever single crash"""
    relay = kit.component(MODULE, NAME)
    kit.every_single_crash(
        outbox_relay, relay, kit.traces("relay-*"), [*UNDER_CRASHES, OUTBOX_DRAINED]
    )


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_nothing_is_lost_reordered_or_renamed_under_many_crashes(kit):
    """the same promises under several crashes and refused publishes"""
    relay = kit.component(MODULE, NAME)
    kit.random_faults(outbox_relay, relay, [*UNDER_CRASHES, OUTBOX_DRAINED])


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_a_refused_event_backs_off_doubling_and_holds_only_its_order(kit):
    """a refused event waits twice as long at each refusal, and holds back only its own order"""
    relay = kit.component(MODULE, NAME)
    kit.once(
        outbox_relay,
        relay,
        kit.traces("backoff-*"),
        [*UNDER_CRASHES, PUBLISHED_ONCE, OUTBOX_DRAINED, BACKOFF_DOUBLES],
    )
