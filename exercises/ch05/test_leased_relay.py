"""ch05 · task 3 · Several relays: claims with a lease."""

import pytest

from harness.promises import (
    EVENT_NOT_LOST,
    EVENTS_IN_ORDER,
    NO_PHANTOM,
    NO_SWALLOW,
    OTHERS_NOT_HELD,
    OUTBOX_DRAINED,
    PUBLISHED_ONCE,
    SAME_MESSAGE_ID,
)
from harness.workloads import outbox_relays

MODULE, NAME = "ch05/leased_relay.py", "LeasedRelay"
# A row claimed forever is stuck before it is lost: say so first.
PROMISES = [
    NO_SWALLOW,
    NO_PHANTOM,
    OUTBOX_DRAINED,
    EVENT_NOT_LOST,
    EVENTS_IN_ORDER,
    SAME_MESSAGE_ID,
    OTHERS_NOT_HELD,
]


@pytest.mark.task(3)
@pytest.mark.points(1)
def test_several_relays_publish_every_event_once_in_order(kit):
    """two and four relays publish every event once, in order, when nothing crashes"""
    relay = kit.component(MODULE, NAME)
    kit.once(outbox_relays, relay, kit.traces("relays-[fr]*"), [*PROMISES, PUBLISHED_ONCE])


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_two_racing_relays_never_publish_an_event_twice(kit):
    """wherever relay-1 pauses while relay-2 polls, each event is published once, in order"""
    relay = kit.component(MODULE, NAME)
    (base,) = kit.traces("relays-racing")
    kit.once(outbox_relays, relay, outbox_relays.races(base), [*PROMISES, PUBLISHED_ONCE])


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_a_relay_that_stalls_or_crashes_hands_its_rows_over(kit):
    """a relay stalled past its lease, or crashed at any call, loses its claim to another"""
    relay = kit.component(MODULE, NAME)
    kit.every_single_crash(outbox_relays, relay, kit.traces("relays-[rs]*"), PROMISES)


@pytest.mark.task(3)
@pytest.mark.points(1)
def test_several_relays_keep_the_promises_under_many_crashes(kit):
    """two relays keep every promise under several crashes, each naming the relay it strikes"""
    relay = kit.component(MODULE, NAME)
    kit.random_faults(outbox_relays, relay, PROMISES, actors=("relay-1", "relay-2"))
