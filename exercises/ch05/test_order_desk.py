"""ch05 · task 1 · The order and its event, in one transaction."""

import pytest

from harness.explore import PromiseBroken
from harness.promises import (
    EVENT_NOT_LOST,
    EVENT_READABLE,
    NO_PHANTOM,
    NO_SWALLOW,
    ORDER_TAKEN,
)
from harness.workloads import outbox_desk

MODULE, NAME = "ch05/order_desk.py", "OrderDesk"
PROMISES = [NO_SWALLOW, NO_PHANTOM, EVENT_NOT_LOST, ORDER_TAKEN, EVENT_READABLE]


class SaveThenPublish:
    """The naive desk, first way: commit the order, then publish its event."""

    def __init__(self, store, publisher):
        self.store, self.publisher = store, publisher

    def place_order(self, order_id, amount):
        with self.store.transaction():
            self.store.execute("INSERT INTO orders VALUES (?, ?)", (order_id, amount))
        body = {"type": "OrderPlaced", "order_id": order_id, "amount": amount}
        self.publisher.publish("order-events", body, message_id=f"{order_id}/placed")


class PublishThenSave:
    """The naive desk, second way: publish the event, then commit the order."""

    def __init__(self, store, publisher):
        self.store, self.publisher = store, publisher

    def place_order(self, order_id, amount):
        body = {"type": "OrderPlaced", "order_id": order_id, "amount": amount}
        self.publisher.publish("order-events", body, message_id=f"{order_id}/placed")
        with self.store.transaction():
            self.store.execute("INSERT INTO orders VALUES (?, ?)", (order_id, amount))


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_every_order_has_its_event_and_a_refused_order_none(kit):
    """every committed order has its event, and a refused order none, when nothing crashes"""
    desk = kit.component(MODULE, NAME)
    kit.once(outbox_desk, desk, kit.traces("desk-*"), PROMISES)


@pytest.mark.task(1)
@pytest.mark.points(2)
def test_no_event_is_lost_or_phantom_whatever_single_crash(kit):
    """no event is lost and none is a phantom, and a restarted desk takes every valid order,
    whatever single crash strikes"""
    desk = kit.component(MODULE, NAME)
    kit.every_single_crash(outbox_desk, desk, kit.traces("desk-*"), PROMISES)


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_no_event_is_lost_or_phantom_under_many_crashes(kit):
    """no event is lost and none is a phantom under several crashes and refused orders"""
    desk = kit.component(MODULE, NAME)
    kit.random_faults(outbox_desk, desk, PROMISES)


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_the_naive_desks_lose_or_invent_events_and_yours_does_not(kit):
    """the two naive desks each break a promise on the same traces that yours keeps"""
    desk = kit.component(MODULE, NAME)
    traces = kit.traces("desk-*")
    kit.every_single_crash(outbox_desk, desk, traces, PROMISES)
    with pytest.raises(PromiseBroken) as saved_first:
        kit.every_single_crash(outbox_desk, SaveThenPublish, traces, PROMISES)
    assert saved_first.value.promise is EVENT_NOT_LOST, saved_first.value.verdict.observed
    with pytest.raises(PromiseBroken) as published_first:
        kit.every_single_crash(outbox_desk, PublishThenSave, traces, PROMISES)
    assert published_first.value.promise is NO_PHANTOM, published_first.value.verdict.observed
