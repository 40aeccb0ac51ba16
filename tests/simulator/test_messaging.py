"""The messaging worlds of ch01: the wire port, the bus and the status-queries workloads, and
their checkers, against small correct and wrong components written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import traces as trace_files
from harness.checkers import (
    answered_in_time,
    answered_once,
    correlated,
    every_subscriber,
    one_handler,
)
from harness.checkers.bus import unique_correlation_ids
from harness.faults import Schedule
from harness.ports.messaging import NoHandler, Refused, TooManyHandlers
from harness.workloads import bus, status_queries

TRACES = Path(__file__).resolve().parents[2] / "exercises" / "ch01" / "traces"
BUS_TRACES = [trace_files.load(p) for p in sorted(TRACES.glob("bus-*.toml"))]
QUERY_TRACES = [trace_files.load(p) for p in sorted(TRACES.glob("queries-*.toml"))]


class GoodBus:
    """Refuses a second handler at send time (the other correct choice from the reference)."""

    def __init__(self):
        self.handlers, self.subscribers, self.taken = {}, {}, set()

    def handle(self, kind, handler):
        self.handlers.setdefault(kind, []).append(handler)

    def send(self, command):
        found = self.handlers.get(command["type"], [])
        if not found:
            raise NoHandler(f"no handler for {command['type']}")
        if len(found) > 1:
            raise TooManyHandlers(f"{command['type']} has {len(found)} handlers")
        return found[0](command)

    def subscribe(self, kind, name, subscriber):
        self.subscribers.setdefault(kind, []).append((name, subscriber))

    def publish(self, event):
        failed = []
        for name, subscriber in self.subscribers.get(event["type"], []):
            if (event["id"], name) in self.taken:
                continue
            try:
                subscriber(event)
            except Exception:
                failed.append(name)
                continue
            self.taken.add((event["id"], name))
        return failed


class SendToAll(GoodBus):
    def send(self, command):
        replies = [h(command) for h in self.handlers.get(command["type"], [])]
        return replies[-1] if replies else None


class StopAtFirstFailure(GoodBus):
    def publish(self, event):
        for name, subscriber in self.subscribers.get(event["type"], []):
            if (event["id"], name) in self.taken:
                continue
            try:
                subscriber(event)
            except Exception:
                return [name]
            self.taken.add((event["id"], name))
        return []


class NoMemory(GoodBus):
    def publish(self, event):
        self.taken.clear()
        return super().publish(event)


class KeepsRefusedHandler(GoodBus):
    """Stores the second handler, then refuses it: the refused one replaces the first."""

    def handle(self, kind, handler):
        known = kind in self.handlers
        self.handlers[kind] = [handler]
        if known:
            raise TooManyHandlers(f"{kind} already has a handler")


class SwallowsRefusal(GoodBus):
    def send(self, command):
        try:
            return super().send(command)
        except Refused:
            return None


class RemembersFailures(GoodBus):
    """Returns every subscriber that ever failed on the event, not those that failed now."""

    def publish(self, event):
        self.ever = getattr(self, "ever", {})
        failed = self.ever.setdefault(event["id"], [])
        failed += [name for name in super().publish(event) if name not in failed]
        return failed


class TakenByOrder(GoodBus):
    def publish(self, event):
        failed = []
        for name, subscriber in self.subscribers.get(event["type"], []):
            if (event["order_id"], name) in self.taken:
                continue
            try:
                subscriber(event)
            except Exception:
                failed.append(name)
                continue
            self.taken.add((event["order_id"], name))
        return failed


class RetriesInline(GoodBus):
    """Tries a failing subscriber once more at once; returns None when none is left failing."""

    def publish(self, event):
        failed = []
        for name, subscriber in self.subscribers.get(event["type"], []):
            if (event["id"], name) in self.taken:
                continue
            for _attempt in range(2):
                try:
                    subscriber(event)
                except Exception:
                    continue
                self.taken.add((event["id"], name))
                break
            else:
                failed.append(name)
        return failed or None


class GoodRequester:
    def __init__(self, wire):
        self.wire, self.waiting, self.count = wire, {}, 0

    def ask(self, query, timeout, on_answer):
        self.count += 1
        cid = f"c{self.count}"
        self.waiting[cid] = on_answer
        self.wire.request(query, correlation_id=cid)
        self.wire.call_later(timeout, lambda: self.settle(cid, None))

    def on_reply(self, cid, body):
        self.settle(cid, body)

    def settle(self, cid, body):
        answer = self.waiting.pop(cid, None)
        if answer is not None:
            answer(body)


class OldestFirst(GoodRequester):
    def on_reply(self, cid, body):
        if self.waiting:
            self.settle(next(iter(self.waiting)), body)


class NeverForgets(GoodRequester):
    def on_reply(self, cid, body):
        if cid in self.waiting:
            self.waiting[cid](body)


class NoAlarm(GoodRequester):
    def ask(self, query, timeout, on_answer):
        self.count += 1
        self.waiting[f"c{self.count}"] = on_answer
        self.wire.request(query, correlation_id=f"c{self.count}")


class OrderAsId(GoodRequester):
    def ask(self, query, timeout, on_answer):
        cid = f"about-{query['order_id']}"
        self.waiting[cid] = on_answer
        self.wire.request(query, correlation_id=cid)
        self.wire.call_later(timeout, lambda: self.settle(cid, None))


class CountsWaiting(GoodRequester):
    def ask(self, query, timeout, on_answer):
        cid = f"c{len(self.waiting) + 1}"
        self.waiting[cid] = on_answer
        self.wire.request(query, correlation_id=cid)
        self.wire.call_later(timeout, lambda: self.settle(cid, None))


def run(workload, factory, trace):
    return workload.run(factory, trace, Schedule())


def first_broken(outcome, checks):
    for check in checks:
        verdict = check(outcome)
        if not verdict.holds:
            return verdict
    return None


BUS_CHECKS = (one_handler, every_subscriber)
QUERY_CHECKS = (unique_correlation_ids, correlated, answered_in_time, answered_once)


@pytest.mark.parametrize("factory", [GoodBus, RetriesInline], ids=lambda f: f.__name__)
@pytest.mark.parametrize("trace", BUS_TRACES + [bus.generate((0, 3, 1, 2))], ids=lambda t: t.name)
def test_a_correct_bus_keeps_both_promises(factory, trace):
    """either place to refuse a second handler is right, a bus may retry a subscriber itself
    and return None for no failure; every visible trace holds"""
    outcome = run(bus, factory, trace)
    assert first_broken(outcome, BUS_CHECKS) is None, outcome.timeline.render()


@pytest.mark.parametrize(
    "factory, trace, word",
    [
        (SendToAll, "bus-two-handlers", "duplicated"),
        (SendToAll, "bus-no-handler", "lost"),
        (StopAtFirstFailure, "bus-subscriber-down", "lost"),
        (NoMemory, "bus-subscriber-retried", "duplicated"),
        (KeepsRefusedHandler, "bus-two-handlers", "phantom"),
        (SwallowsRefusal, "bus-handler-refuses", "swallowed"),
        (TakenByOrder, "bus-events-of-one-order", "lost"),
    ],
)
def test_a_wrong_bus_is_caught_with_the_glossary_word(factory, trace, word):
    """each plausible wrong bus breaks its promise, named with its anomaly word"""
    chosen = next(t for t in BUS_TRACES if t.name == trace)
    verdict = first_broken(run(bus, factory, chosen), BUS_CHECKS)
    assert verdict is not None and word in verdict.anomalies, verdict


def test_a_bus_that_names_subscribers_that_took_the_event_in_is_caught():
    """publish names those that raised during this publish, and only those"""
    trace = next(t for t in BUS_TRACES if t.name == "bus-subscriber-retried")
    verdict = every_subscriber(run(bus, RemembersFailures, trace))
    assert not verdict.holds and verdict.anomalies == {}
    assert verdict.observed.startswith(
        "publish(e1) returned ('loyalty',) on its second publish, but every subscriber it "
        "called took it in"
    )


def test_a_refusal_reaches_the_sender():
    """the handler's Refused goes through send; the next command is handled as usual"""
    trace = next(t for t in BUS_TRACES if t.name == "bus-handler-refuses")
    outcome = run(bus, GoodBus, trace)
    assert [(s.command, s.error and s.error[0], s.refused_by) for s in outcome.sent] == [
        ("c1", None, ()),
        ("c2", "Refused", ("payments",)),
        ("c3", None, ()),
    ]


def test_a_bus_that_raises_a_vague_error_is_caught():
    """TooManyHandlers must name the command type"""

    class Vague(GoodBus):
        def send(self, command):
            if len(self.handlers.get(command["type"], [])) > 1:
                raise TooManyHandlers("too many")
            return super().send(command)

    trace = next(t for t in BUS_TRACES if t.name == "bus-two-handlers")
    verdict = one_handler(run(bus, Vague, trace))
    assert not verdict.holds and "does not name ChargePayment" in verdict.observed


@pytest.mark.parametrize(
    "trace",
    QUERY_TRACES
    + [status_queries.generate((1, 0, 2, 3, 4)), status_queries.generate((3, 10, 7, 18, 9))],
    ids=lambda t: t.name,
)
def test_a_correct_requester_keeps_every_promise(trace):
    outcome = run(status_queries, GoodRequester, trace)
    assert first_broken(outcome, QUERY_CHECKS) is None, outcome.timeline.render()
    assert all(len(answers) == 1 for answers in outcome.answers.values())


@pytest.mark.parametrize(
    "factory, trace, word",
    [
        (OldestFirst, "queries-out-of-order", "reordered"),
        (NeverForgets, "queries-duplicated", "duplicated"),
        (NoAlarm, "queries-late", "late"),
        (OrderAsId, "queries-same-order", None),
        (CountsWaiting, "queries-stragglers", None),
    ],
)
def test_a_wrong_requester_is_caught_with_the_glossary_word(factory, trace, word):
    chosen = next(t for t in QUERY_TRACES if t.name == trace)
    verdict = first_broken(run(status_queries, factory, chosen), QUERY_CHECKS)
    assert verdict is not None, factory
    if word is None:  # an id used twice is its own promise, whatever a straggler did with it
        assert verdict == unique_correlation_ids(run(status_queries, factory, chosen))
    else:
        assert word in verdict.anomalies, verdict


def test_a_correlation_id_used_again_is_caught_and_says_why():
    """two questions about one order, or a question after another was answered: one id each"""
    same = run(status_queries, OrderAsId, status_queries.generate((0, 10)))
    verdict = unique_correlation_ids(same)
    assert verdict.observed.startswith(
        "q2 (about o-1) was sent with correlation id 'about-o-1', the id of q1 (about o-1): "
        "both are about o-1"
    )
    later = run(status_queries, CountsWaiting, status_queries.generate((0, 5)))
    verdict = unique_correlation_ids(later)
    assert "q1 was answered already, but a copy or a late reply to it may still come" in (
        verdict.observed
    )
    assert len(verdict.marks) == 2
    assert unique_correlation_ids(
        run(status_queries, GoodRequester, status_queries.generate((0, 15, 7)))
    ).holds


def test_generated_questions_come_later_and_about_the_same_order_as_their_spec_says():
    """plan + 5: asked 20 ms after the previous question; + 10: about the same order"""
    asks = [s for s in status_queries.generate((2, 5, 14, 19)).steps if s.action == "ask"]
    assert [(s.at, s.args["order"]) for s in asks] == [
        (0.0, "o-1"),
        (0.02, "o-2"),
        (0.022, "o-2"),
        (0.042, "o-2"),
    ]
    with pytest.raises(ValueError, match="0..19"):
        status_queries.generate((20,))


def test_a_question_never_answered_is_stuck():
    outcome = run(status_queries, NoAlarm, status_queries.generate((4,)))
    verdict = answered_once(outcome)
    assert verdict.anomalies == {"stuck": ["q1"]}


def test_the_alarm_rings_on_the_virtual_clock():
    """a timeout of 50 ms is answered at t=0.050 exactly, with no real waiting"""
    outcome = run(status_queries, GoodRequester, status_queries.generate((4,)))
    (answer,) = outcome.answers["q1"]
    assert answer.body is None and answer.time == pytest.approx(0.050)


def test_the_same_trace_gives_the_same_run():
    trace = status_queries.generate((1, 2, 0, 3))
    first = run(status_queries, GoodRequester, trace).timeline.steps
    assert run(status_queries, GoodRequester, trace).timeline.steps == first


def test_the_wire_refuses_a_request_without_correlation_id():
    class NoId(GoodRequester):
        def ask(self, query, timeout, on_answer):
            self.wire.request(query, correlation_id="")

    from harness.errors import LearnerError

    with pytest.raises(LearnerError, match="correlation_id"):
        run(status_queries, NoId, status_queries.generate((0,)))


def test_a_reply_to_a_question_never_asked_is_a_trace_error():
    trace = trace_files.parse(
        {
            "title": "t",
            "story": "s",
            "workload": "status-queries",
            "steps": [{"at": 0.0, "reply": {"to": "q9", "status": "paid"}}],
        },
        name="bad",
        where="bad.toml",
        vocabulary=lambda name: status_queries.VOCABULARY,
    )
    with pytest.raises(ValueError, match="q9"):
        run(status_queries, GoodRequester, trace)
