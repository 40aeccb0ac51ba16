"""ch01 · task 1 · The order flow's messages: commands, events and queries."""

import pytest

from harness.ports.messaging import Refused

MODULE, NAME = "ch01/messages.py", "OrderFlow"


def place(order_id, amount):
    return {"type": "PlaceOrder", "order_id": order_id, "amount": amount}


def charge(order_id, amount):
    return {"type": "ChargePayment", "order_id": order_id, "amount": amount}


def status(flow, order_id):
    reply = flow.answer({"type": "GetOrderStatus", "order_id": order_id})
    assert reply == {"order_id": order_id, "status": reply.get("status")}, (
        f"answer(GetOrderStatus {order_id}) returned {reply!r}; a reply is "
        "{'order_id': ..., 'status': ...} and nothing else"
    )
    return reply["status"]


def events_of(flow, command):
    events = flow.handle(command)
    return [(e["type"], e["order_id"], e["amount"]) for e in events]


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_an_accepted_command_returns_what_happened_in_past_tense(kit):
    """an accepted command returns the events that say, in the past tense, what happened"""
    flow = kit.component(MODULE, NAME)()
    got = events_of(flow, place("o-1", 30))
    assert got == [("OrderPlaced", "o-1", 30)], (
        f"handle(PlaceOrder o-1, 30) returned events {got}; expected one OrderPlaced for o-1 "
        "with amount 30: the command asked for it, the event says it happened"
    )
    assert status(flow, "o-1") == "placed", "after PlaceOrder o-1 was accepted, o-1 is 'placed'"
    got = events_of(flow, charge("o-1", 30))
    assert got == [("PaymentCaptured", "o-1", 30)], (
        f"handle(ChargePayment o-1, 30) returned events {got}; expected one PaymentCaptured "
        "for o-1 with amount 30"
    )
    assert status(flow, "o-1") == "paid", "after ChargePayment o-1 was accepted, o-1 is 'paid'"


REFUSED = [
    ("an-order-placed-twice", [place("o-1", 30)], place("o-1", 30), "placed"),
    ("a-negative-amount", [], place("o-2", -5), "unknown"),
    ("a-zero-amount", [], place("o-6", 0), "unknown"),
    ("a-charge-for-an-unknown-order", [], charge("o-3", 30), "unknown"),
    ("a-charge-of-the-wrong-amount", [place("o-4", 30)], charge("o-4", 25), "placed"),
    ("a-second-charge", [place("o-5", 30), charge("o-5", 30)], charge("o-5", 30), "paid"),
]


@pytest.mark.task(1)
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "before, command, then", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_a_command_may_be_refused_and_a_refusal_changes_nothing(kit, before, command, then):
    """a command may be refused: it raises Refused, returns no event, and changes nothing"""
    flow = kit.component(MODULE, NAME)()
    for earlier in before:
        flow.handle(earlier)
    order_id = command["order_id"]
    said = f"{command['type']} {order_id}, {command['amount']}"
    after = " after " + ", then ".join(f"{c['type']} {c['order_id']}" for c in before)
    with pytest.raises(Refused):
        events = flow.handle(command)
        pytest.fail(
            f"handle({said}){after if before else ''} returned {events!r}; it must raise "
            "Refused (from harness.ports.messaging) with the reason: a command may be refused"
        )
    got = status(flow, order_id)
    assert got == then, (
        f"after handle({said}) was refused, {order_id} is {got!r}; a refusal changes "
        f"nothing, so it should still be {then!r}"
    )


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_an_event_is_a_fact_that_is_never_refused(kit):
    """an event is a fact: it is recorded whatever the state, even when it comes first"""
    flow = kit.component(MODULE, NAME)()
    captured = {"type": "PaymentCaptured", "order_id": "o-7", "amount": 12.5}
    try:
        flow.apply(captured)
    except Refused as refusal:
        pytest.fail(
            f"apply(PaymentCaptured o-7) raised Refused({refusal}); the payment was captured "
            "elsewhere, and it came before o-7's OrderPlaced. An event is a fact: it cannot be "
            "refused, only recorded"
        )
    assert status(flow, "o-7") == "paid", "after PaymentCaptured o-7, o-7 is 'paid'"
    flow.apply({"type": "OrderPlaced", "order_id": "o-7", "amount": 12.5})
    got = status(flow, "o-7")
    assert got == "paid", (
        f"after PaymentCaptured o-7 then OrderPlaced o-7 (late), o-7 is {got!r}; the payment "
        "is a fact that the late OrderPlaced does not undo: it is still 'paid'"
    )
    with pytest.raises(Refused):
        flow.handle(charge("o-7", 12.5))
        pytest.fail("handle(ChargePayment o-7) was accepted, but o-7 was already paid")


@pytest.mark.task(1)
@pytest.mark.points(1)
def test_a_query_answers_and_changes_nothing(kit):
    """a query answers and changes nothing, not even for an order it has never heard of"""
    flow = kit.component(MODULE, NAME)()
    first = status(flow, "o-9")
    assert first == "unknown", f"o-9 was never placed, yet GetOrderStatus o-9 says {first!r}"
    again = status(flow, "o-9")
    assert again == "unknown", f"asking about o-9 twice gave {first!r}, then {again!r}"
    try:
        got = events_of(flow, place("o-9", 40))
    except Refused as refusal:
        pytest.fail(
            f"GetOrderStatus o-9, then PlaceOrder o-9 was refused: {refusal}. Asking about o-9 "
            "created it: a query must read the state and change nothing (get, not setdefault)"
        )
    assert got == [("OrderPlaced", "o-9", 40)], f"PlaceOrder o-9 returned {got}"
    assert status(flow, "o-9") == "placed", "after PlaceOrder o-9 was accepted, o-9 is 'placed'"
