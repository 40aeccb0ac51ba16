"""The order desk's world: services with outages, the order-desk workload, its checkers."""

from __future__ import annotations

import math

import pytest

from harness import checkers, traces
from harness.broker import Broker, BrokerUnavailable, Message
from harness.clock import VirtualClock
from harness.faults import CrashPoint, Schedule
from harness.outcome import Outcome
from harness.ports.services import ServiceUnavailable
from harness.scheduler import Scheduler
from harness.services import SERVICES, DownstreamServices
from harness.timeline import Timeline
from harness.traces import TraceError
from harness.workloads import order_desk
from harness.workloads.order_desk import Reply


def world():
    scheduler = Scheduler(VirtualClock(), seed=0)
    timeline = Timeline()
    broker = Broker(scheduler, timeline)
    return scheduler, broker, DownstreamServices(broker, scheduler, timeline)


# -- downstream services -------------------------------------------------------------------------


def test_a_message_waits_in_the_queue_until_its_service_is_back():
    """Published while shipping is down, a message reaches shipping once it is back, not before."""
    scheduler, broker, services = world()
    services.outage("shipping", 0.0, 0.05)
    services.start()
    broker.publish("shipping", Message("m1", {"order_id": "o-1"}))
    scheduler.run(until=0.049)
    assert services.reached("o-1") == []
    assert [m.message_id for m in broker.ready("shipping")] == ["m1"]
    scheduler.run()
    assert services.reached("o-1") == ["shipping"]
    assert broker.ready("shipping") == [] and broker.unacked("shipping") == []


def test_overlapping_outages_of_one_service_end_with_the_last():
    """Two overlapping outages: the service is back only when the second one ends."""
    scheduler, _broker, services = world()
    services.outage("inventory", 0.0, 0.03)
    services.outage("inventory", 0.02, 0.05)
    services.start()
    scheduler.run(until=0.04)
    assert not services.is_up("inventory")
    assert services.down_now() == ("inventory",)
    scheduler.run()
    assert services.is_up("inventory")


def test_a_synchronous_call_fails_while_its_service_is_down_and_reaches_it_otherwise():
    """call() raises ServiceUnavailable during an outage; afterwards it reaches the service."""
    scheduler, _broker, services = world()
    services.outage("payments", 0.0, 0.01)
    services.start()
    scheduler.run(until=0.005)
    with pytest.raises(ServiceUnavailable, match="payments is down"):
        services.call("desk", "payments", "o-1")
    scheduler.run()
    services.call("desk", "payments", "o-1")
    assert services.reached("o-1") == ["payments"]
    with pytest.raises(ValueError, match="no service named 'billing'"):
        services.call("desk", "billing", "o-1")


def test_a_broker_outage_refuses_publishing_and_disconnects_the_services():
    """While the broker is down nothing is published and nothing is delivered; then all resumes."""
    scheduler, broker, services = world()
    broker.publish("loyalty", Message("m1", {"order_id": "o-1"}))
    services.outage("broker", 0.0, 0.02)
    services.start()
    scheduler.run(until=0.01)
    with pytest.raises(BrokerUnavailable):
        broker.publish("loyalty", Message("m2", {"order_id": "o-2"}))
    assert services.reached("o-1") == []
    scheduler.run()
    assert services.reached("o-1") == ["loyalty"]
    broker.publish("loyalty", Message("m2", {"order_id": "o-2"}))
    scheduler.run()
    assert services.reached("o-2") == ["loyalty"]


def test_a_service_drops_a_message_whose_id_it_has_already_taken():
    """A service deduplicates on the message id: a second message with a taken id is dropped."""
    scheduler, broker, services = world()
    services.start()
    broker.publish("payments", Message("m1", {"order_id": "o-1"}))
    broker.publish("payments", Message("m1", {"order_id": "o-2"}))
    broker.publish("shipping", Message("m1", {"order_id": "o-2"}))  # another service's ids
    scheduler.run()
    assert services.reached("o-1") == ["payments"]
    assert services.reached("o-2") == ["shipping"]
    [dropped] = services.dropped()
    assert (dropped.service, dropped.message_id, dropped.order, dropped.first) == (
        "payments",
        "m1",
        "o-2",
        "o-1",
    )
    assert (
        "drop m1 (o-2): already took that id, for o-1" in broker.timeline.steps[dropped.step].what
    )
    assert broker.ready("payments") == [] and broker.unacked("payments") == []


def test_an_outage_names_a_known_service_and_ends_after_it_starts():
    """Bad outages are refused with the names that exist."""
    _scheduler, _broker, services = world()
    with pytest.raises(ValueError, match="loyalty, broker"):
        services.outage("billing", 0.0, 0.01)
    with pytest.raises(ValueError, match="ends after it starts"):
        services.outage("payments", 0.02, 0.01)


# -- the workload --------------------------------------------------------------------------------


class MessageDesk:
    """A right desk: one message per service, refused while the broker is down."""

    def __init__(self, publisher, services):
        self.publisher = publisher

    def place_order(self, order):
        try:
            for service in SERVICES:
                self.publisher.publish(
                    service, dict(order), message_id=f"{order['order_id']}:{service}"
                )
        except BrokerUnavailable:
            return "refused"
        return "accepted"


class SynchronousDesk:
    def __init__(self, publisher, services):
        self.services = services

    def place_order(self, order):
        try:
            for service in SERVICES:
                self.services.call(service, order["order_id"])
        except ServiceUnavailable:
            return "refused"
        return "accepted"


def test_the_message_desk_keeps_every_promise_where_the_synchronous_one_does_not():
    """Shipping down: the message desk accepts and delivers; the synchronous one refuses."""
    trace = order_desk.generate((4, 0))  # shipping down at o-1
    good = order_desk.run(MessageDesk, trace, Schedule())
    assert [r.reply for r in good.notes["replies"]] == ["accepted", "accepted"]
    for check in (
        checkers.accepts_while_broker_up,
        checkers.reaches_every_service,
        checkers.accepted_not_confirmed,
        checkers.refuses_when_broker_down,
        checkers.desk.unique_message_ids,
    ):
        assert check(good).holds, check.__name__
    assert [h.message_id for h in good.notes["handed"]][:2] == ["o-1:payments", "o-1:inventory"]
    assert good.lost == [] and good.unsettled == []
    bad = order_desk.run(SynchronousDesk, trace, Schedule())
    assert [r.reply for r in bad.notes["replies"]] == ["refused", "accepted"]
    verdict = checkers.accepts_while_broker_up(bad)
    assert not verdict.holds and verdict.anomalies == {"unavailable": ["o-1"]}
    assert "shipping was down" in verdict.observed
    # The synchronous desk reached payments and inventory before shipping failed: a phantom.
    assert checkers.refuses_when_broker_down(bad).anomalies == {"phantom": ["o-1"]}


def test_a_broker_outage_shows_in_the_timeline_and_the_replies():
    """Publishing while the broker is down is a timeline line; the desk's refusal is recorded."""
    outcome = order_desk.run(MessageDesk, order_desk.generate((32,)), Schedule())
    assert [(r.reply, r.down) for r in outcome.notes["replies"]] == [("refused", ("broker",))]
    assert any("broker down" in step.what for step in outcome.timeline.steps)
    assert checkers.refuses_when_broker_down(outcome).holds


def test_a_crashed_desk_gives_no_answer_and_binds_no_promise():
    """A crash mid-order leaves the order unanswered; no checker counts it against the desk."""
    outcome = order_desk.run(
        MessageDesk, order_desk.generate((0,)), Schedule((CrashPoint(3, "before"),))
    )
    assert [r.reply for r in outcome.notes["replies"]] == [None]
    for check in (
        checkers.accepts_while_broker_up,
        checkers.reaches_every_service,
        checkers.accepted_not_confirmed,
        checkers.refuses_when_broker_down,
    ):
        assert check(outcome).holds, check.__name__


def test_a_desk_that_answers_something_else_than_a_word_is_an_error():
    """place_order must answer a str; None is an error naming the expected answers."""
    from harness.errors import LearnerError

    class Silent:
        def __init__(self, publisher, services):
            pass

        def place_order(self, order):
            return None

    with pytest.raises(LearnerError, match="'accepted' or 'refused'"):
        order_desk.run(Silent, order_desk.generate((0,)), Schedule())


def test_a_trace_with_an_unknown_outage_names_the_file_and_the_field(tmp_path):
    """An outage of a service that does not exist, or ending before it starts, is a TraceError."""
    path = tmp_path / "bad.toml"
    path.write_text(
        'title = "t"\nstory = "s"\nworkload = "order-desk"\n'
        '[[steps]]\nat = 0.0\noutage = { of = "billing", until = 0.1 }\n'
    )
    with pytest.raises(TraceError, match=r"bad.toml: steps\[0\].outage.of: unknown 'billing'"):
        order_desk.run(MessageDesk, traces.load(path), Schedule())
    path.write_text(
        'title = "t"\nstory = "s"\nworkload = "order-desk"\n'
        '[[steps]]\nat = 0.2\noutage = { of = "payments", until = 0.1 }\n'
    )
    with pytest.raises(TraceError, match=r"steps\[0\].outage.until: expected a time after"):
        order_desk.run(MessageDesk, traces.load(path), Schedule())


def test_generated_and_flaky_traces_are_pure_functions_of_their_inputs():
    """The same spec or seed gives the same trace; a mask out of range is refused."""
    assert order_desk.generate((63, 1)) == order_desk.generate((63, 1))
    assert order_desk.flaky((0.9,) * 5, orders=20, seed=3) == order_desk.flaky(
        (0.9,) * 5, orders=20, seed=3
    )
    assert order_desk.flaky((0.9,) * 5, orders=20, seed=3) != order_desk.flaky(
        (0.9,) * 5, orders=20, seed=4
    )
    with pytest.raises(ValueError, match="0..63"):
        order_desk.generate((64,))
    with pytest.raises(ValueError, match="one availability per service"):
        order_desk.flaky((0.9,), orders=1, seed=0)


def test_the_measured_acceptance_of_a_synchronous_desk_is_the_product_of_availabilities():
    """Over seeded runs a synchronous desk accepts about prod(a) of its orders; messages, all."""
    availabilities = (0.95, 0.9, 0.99, 0.8, 0.97)
    sync = order_desk.acceptance(SynchronousDesk, availabilities, runs=20, orders=100)
    assert sync.placed == 2000
    sigma = math.sqrt(sync.rate * (1 - sync.rate) / sync.placed)
    assert abs(sync.rate - math.prod(availabilities)) < 3 * sigma
    assert sync == order_desk.acceptance(SynchronousDesk, availabilities, runs=20, orders=100)
    messages = order_desk.acceptance(MessageDesk, availabilities, runs=5, orders=100)
    assert messages.rate == 1.0


# -- the checkers on hand-written outcomes -------------------------------------------------------


def outcome_of(replies, received):
    return Outcome(accepted={}, effects={}, notes={"replies": replies, "received": received})


ALL = {service: [("o-1", 5)] for service in SERVICES}


def test_a_confirmed_answer_is_overpromised():
    verdict = checkers.accepted_not_confirmed(
        outcome_of([Reply("o-1", 0.01, "confirmed", (), 3)], ALL)
    )
    assert not verdict.holds
    assert verdict.anomalies == {"overpromised": ["o-1"]} and verdict.marks == {3: "'confirmed'"}


def test_an_accepted_order_missing_from_a_service_is_lost():
    received = {**ALL, "loyalty": []}
    verdict = checkers.reaches_every_service(
        outcome_of([Reply("o-1", 0.01, "accepted", (), 3)], received)
    )
    assert verdict.anomalies == {"lost": ["o-1 → loyalty"]}
    assert verdict.observed == "accepted order o-1 never reached loyalty (lost)"


def test_accepting_while_the_broker_is_down_is_lost_or_overpromised():
    nothing = {service: [] for service in SERVICES}
    lost = checkers.refuses_when_broker_down(
        outcome_of([Reply("o-1", 0.01, "accepted", ("broker",), 3)], nothing)
    )
    assert lost.anomalies == {"lost": ["o-1"]}
    done_anyway = checkers.refuses_when_broker_down(
        outcome_of([Reply("o-1", 0.01, "accepted", ("broker",), 3)], ALL)
    )
    assert done_anyway.anomalies == {"overpromised": ["o-1"]}
    refused = checkers.refuses_when_broker_down(
        outcome_of([Reply("o-1", 0.01, "refused", ("broker",), 3)], nothing)
    )
    assert refused.holds


def test_a_service_that_acts_before_the_answer_was_called():
    """Reached before the desk answered: called, not messaged; reached twice: duplicated."""
    called = {**ALL, "payments": [("o-1", 2)]}
    verdict = checkers.accepted_not_confirmed(
        outcome_of([Reply("o-1", 0.01, "accepted", (), 3)], called)
    )
    assert not verdict.holds and verdict.anomalies == {}
    assert verdict.observed.startswith("payments acted on o-1 before the desk answered")
    assert verdict.marks == {2: "payments acts on o-1", 3: "the desk answers"}
    both = {**ALL, "payments": [("o-1", 2), ("o-1", 5)]}
    verdict = checkers.accepted_not_confirmed(
        outcome_of([Reply("o-1", 0.01, "accepted", (), 3)], both)
    )
    assert verdict.anomalies == {"duplicated": ["o-1 → payments"]}
    assert "and again when its message came (duplicated)" in verdict.observed
    # After the answer, once per service: the message desk's way.
    assert checkers.accepted_not_confirmed(
        outcome_of([Reply("o-1", 0.01, "accepted", (), 3)], ALL)
    ).holds


def handed(*messages):
    return [order_desk.Handed(m, q, o, step) for step, (m, q, o) in enumerate(messages)]


def test_a_message_id_given_to_two_messages_is_caught_and_a_drop_is_lost():
    """One id, two messages: caught; when a service dropped one as a copy, it is lost."""
    from harness.services import Dropped

    again = outcome_of([], ALL)
    again.notes["handed"] = handed(("o-1:payments", "payments", "o-1")) * 2
    assert checkers.desk.unique_message_ids(again).holds  # the same message, handed over again
    shared = outcome_of([], ALL)
    shared.notes["handed"] = handed(("o-1", "payments", "o-1"), ("o-1", "inventory", "o-1"))
    verdict = checkers.desk.unique_message_ids(shared)
    assert not verdict.holds and verdict.anomalies == {}
    assert verdict.observed == (
        "message id 'o-1' was given to 2 messages (o-1 to payments, o-1 to inventory); "
        "an id names one message"
    )
    reused = outcome_of([], ALL)
    reused.notes["handed"] = handed(("m-1", "payments", "o-1"), ("m-1", "payments", "o-2"))
    reused.notes["dropped"] = [Dropped("payments", "m-1", "o-2", "o-1", 7)]
    verdict = checkers.desk.unique_message_ids(reused)
    assert verdict.anomalies == {"lost": ["o-2 → payments"]}
    assert verdict.observed.endswith("payments took it for o-1 and dropped o-2's as a copy (lost)")
    assert verdict.marks == {1: "m-1 again", 7: "o-2 dropped"}
