"""status-queries: the order desk asks the orders service for an order's status.

A query is request/reply: the learner's requester sends ``GetOrderStatus`` over
its wire with a correlation id, and the reply comes back later, when the world
says so: promptly, slowly (overtaken by a later one), twice, after the
question's timeout, or never. The requester must answer each question exactly
once, with the reply that carries its own correlation id, or with "timed out"
(``None``) when no reply came within the timeout, measured on the virtual clock.

Nothing here blocks: ``ask`` returns at once; the world calls the requester's
``on_reply(correlation_id, body)`` when a reply arrives, and runs the alarms the
requester set through ``wire.call_later``.

The learner's component is built as ``factory(wire=...)`` and must have
``ask(query, timeout, on_answer)`` and ``on_reply(correlation_id, body)``. A
query is ``{"type": "GetOrderStatus", "order_id": str}``; a reply body is
``{"order_id": str, "status": str}``.

Trace actions: ``ask = {id, order, timeout}`` (the desk asks; ``id`` names the
question in the trace) and ``reply = {to, status}`` (the orders service replies to
question ``to``, with the correlation id the requester sent it). Several questions
may be about the same order, and a question may be asked after earlier ones were
answered: a correlation id names one question for the requester's whole life.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports.messaging import Wire
from harness.traces import NUMBER, STRING, Step, Trace, Vocabulary
from harness.workloads.play import new_world, run_until_settled, schedule_steps
from harness.world import Component

NAME = "status-queries"
QUERY = "GetOrderStatus"

VOCABULARY = Vocabulary(
    actions={
        "ask": {"id": STRING, "order": STRING, "timeout": NUMBER},
        "reply": {"to": STRING, "status": STRING},
    },
    settings={},
)


class Question(NamedTuple):
    order: str
    asked_at: float
    deadline: float


class Answer(NamedTuple):
    time: float
    body: Any
    step: int
    """The timeline step that shows this answer."""


class Reply(NamedTuple):
    time: float
    question: str
    body: dict


class Request(NamedTuple):
    """A request the requester sent: for which question (None: outside any ask), with what id."""

    question: str | None
    correlation_id: str
    step: int


@dataclass
class QueriesOutcome(Outcome):
    """An outcome with the questions asked, the replies the world sent, and the answers."""

    questions: dict[str, Question] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> QueriesOutcome:
    """Play ``trace`` against the requester built by ``factory``."""
    world = new_world(trace, schedule, freezer)
    timeline, scheduler = world.timeline, world.scheduler
    questions: dict[str, Question] = {}
    replies: list[Reply] = []
    answers: dict[str, list[Answer]] = {}
    correlation: dict[str, str] = {}
    requests: list[Request] = []
    asking: list[str] = []
    instance: dict[str, Any] = {}
    notes: dict[str, Any] = {}

    def deliver(body: Mapping[str, Any], correlation_id: str) -> None:
        # The question being asked right now owns the request (a retry keeps its first id).
        if asking and asking[-1] not in correlation:
            correlation[asking[-1]] = correlation_id
        question = asking[-1] if asking else None
        requests.append(Request(question, correlation_id, len(timeline) - 1))

    def start(host: Component) -> None:
        wire = Wire(
            gate=host.gate,
            scheduler=scheduler,
            timeline=timeline,
            deliver=deliver,
            run=lambda callback: host.invoke(callback, what="an alarm callback of the requester"),
        )
        instance["requester"] = factory(wire=wire)

    requester = world.host("requester", start)
    scheduler.at(0.0, requester.start, priority=0)

    def ask(args: dict[str, Any]) -> None:
        name, order, timeout = args["id"], args["order"], args["timeout"]
        now = world.now()
        questions[name] = Question(order, now, now + timeout)
        answers.setdefault(name, [])

        def on_answer(body: Any = None) -> None:
            said = "timed out" if body is None else _describe(body)
            answers[name].append(Answer(world.now(), _plain(body), len(timeline)))
            timeline.record(world.now(), "requester", "desk", f"answer {name}: {said}")

        timeline.record(
            now, "desk", "requester", f"ask {name}: {QUERY} {order}, timeout {timeout:.3f} s"
        )
        query = {"type": QUERY, "order_id": order}
        asking.append(name)
        try:
            requester.invoke(
                lambda: instance["requester"].ask(query, timeout, on_answer),
                what="ask() of the requester",
            )
        finally:
            asking.pop()

    def reply(args: dict[str, Any]) -> None:
        name = args["to"]
        if name not in questions:
            raise ValueError(f"trace {trace.name}: reply to {name!r}, a question never asked")
        correlation_id = correlation.get(name)
        body = {"order_id": questions[name].order, "status": args["status"]}
        if correlation_id is None:
            notes.setdefault("unrequested", []).append(name)
            timeline.record(
                world.now(), "orders", "requester", f"no request for {name} to reply to"
            )
            return
        replies.append(Reply(world.now(), name, dict(body)))
        timeline.record(
            world.now(),
            "orders",
            "requester",
            f"reply corr={correlation_id} ({_describe(body)})",
        )
        requester.invoke(
            lambda: instance["requester"].on_reply(correlation_id, dict(body)),
            what="on_reply() of the requester",
        )

    schedule_steps(scheduler, trace.steps, {"ask": ask, "reply": reply})
    notes |= run_until_settled(world, trace)
    world.stop()
    world.close()
    return QueriesOutcome(
        accepted={},
        effects={},
        effect="answered",
        timeline=timeline,
        schedule=schedule,
        trace_name=trace.name,
        notes=notes,
        questions=questions,
        replies=replies,
        answers=answers,
        requests=requests,
    )


def _describe(body: Any) -> str:
    if isinstance(body, Mapping):
        return f"{body.get('order_id', '?')} {body.get('status', '?')}"
    return repr(body)


def _plain(body: Any) -> Any:
    return dict(body) if isinstance(body, Mapping) else body


# -- generated traces --------------------------------------------------------------------------

TIMEOUT = 0.050
ASK_GAP = 0.002
LATER_GAP = 0.020
"""A question asked later comes 20 ms after the previous one: after its prompt reply and copy."""
LATER, SAME_ORDER = 5, 10
"""Added to a question's plan: asked ``LATER_GAP`` after the previous question instead of
``ASK_GAP``; about the same order as the previous question."""
PLANS = {
    0: (0.010,),  # a prompt reply
    1: (0.030,),  # a slow reply, overtaken by the prompt replies to later questions
    2: (0.010, 0.012),  # a reply and its duplicate
    3: (0.070,),  # a reply after the timeout
    4: (),  # no reply at all
}
STATUSES = ("placed", "paid", "shipped")


def generate(spec: tuple[int, ...]) -> Trace:
    """A trace of ``len(spec)`` questions; the replies to question i follow a plan of ``PLANS``.

    ``spec[i]`` is the plan (0 prompt, 1 slow, 2 duplicated, 3 late, 4 none), plus
    ``LATER`` (5) when the question comes 20 ms after the previous one instead of
    2 ms, once the previous one's prompt reply and its copy have arrived, plus
    ``SAME_ORDER`` (10) when it asks about the same order as the previous one.

    >>> [(s.at, s.action, s.args.get("order")) for s in generate((0, 15)).steps]
    [(0.0, 'ask', 'o-1'), (0.01, 'reply', None), (0.02, 'ask', 'o-1'), (0.03, 'reply', None)]
    """
    steps = []
    asked, orders = 0.0, 0
    for index, value in enumerate(spec, start=1):
        if not 0 <= value < 2 * SAME_ORDER:
            raise ValueError(f"a generated question is 0..{2 * SAME_ORDER - 1}, got {value}")
        plan, later, same = value % LATER, value // LATER % 2, value // SAME_ORDER
        if index > 1:
            asked = round(asked + (LATER_GAP if later else ASK_GAP), 6)
        if index == 1 or not same:
            orders += 1
        name, order = f"q{index}", f"o-{orders}"
        steps.append(Step(asked, "ask", {"id": name, "order": order, "timeout": TIMEOUT}))
        status = STATUSES[index % len(STATUSES)]
        for delay in PLANS[plan]:
            steps.append(Step(round(asked + delay, 6), "reply", {"to": name, "status": status}))
    steps.sort(key=lambda step: step.at)
    return Trace(
        name="gen:" + ".".join(str(p) for p in spec),
        title=f"{len(spec)} generated question" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: replies prompt, slow, duplicated, late or missing "
        "(one number per question: 0 prompt, 1 slow, 2 duplicated, 3 late, 4 none; plus 5 "
        "when it is asked 20 ms after the previous question, plus 10 when it is about the "
        "same order).",
        workload=NAME,
        steps=tuple(steps),
    )


def specs(*, max_questions: int = 5):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one prompt reply)."""
    from hypothesis import strategies as st

    return st.lists(st.integers(0, 2 * SAME_ORDER - 1), min_size=1, max_size=max_questions).map(
        tuple
    )
