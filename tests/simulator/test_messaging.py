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
from harness.faults import Schedule
from harness.ports.messaging import NoHandler, TooManyHandlers
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


def run(workload, factory, trace):
    return workload.run(factory, trace, Schedule())


def first_broken(outcome, checks):
    for check in checks:
        verdict = check(outcome)
        if not verdict.holds:
            return verdict
    return None


BUS_CHECKS = (one_handler, every_subscriber)
QUERY_CHECKS = (correlated, answered_in_time, answered_once)


@pytest.mark.parametrize("trace", BUS_TRACES + [bus.generate((0, 3, 1, 2))], ids=lambda t: t.name)
def test_a_correct_bus_keeps_both_promises(trace):
    """either place to refuse a second handler is right; every visible trace holds"""
    outcome = run(bus, GoodBus, trace)
    assert first_broken(outcome, BUS_CHECKS) is None, outcome.timeline.render()


@pytest.mark.parametrize(
    "factory, trace, word",
    [
        (SendToAll, "bus-two-handlers", "duplicated"),
        (SendToAll, "bus-no-handler", "lost"),
        (StopAtFirstFailure, "bus-subscriber-down", "lost"),
        (NoMemory, "bus-subscriber-retried", "duplicated"),
    ],
)
def test_a_wrong_bus_is_caught_with_the_glossary_word(factory, trace, word):
    """each plausible wrong bus breaks its promise, named with its anomaly word"""
    chosen = next(t for t in BUS_TRACES if t.name == trace)
    verdict = first_broken(run(bus, factory, chosen), BUS_CHECKS)
    assert verdict is not None and word in verdict.anomalies, verdict


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
    "trace", QUERY_TRACES + [status_queries.generate((1, 0, 2, 3, 4))], ids=lambda t: t.name
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
    ],
)
def test_a_wrong_requester_is_caught_with_the_glossary_word(factory, trace, word):
    chosen = next(t for t in QUERY_TRACES if t.name == trace)
    verdict = first_broken(run(status_queries, factory, chosen), QUERY_CHECKS)
    assert verdict is not None and word in verdict.anomalies, verdict


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
