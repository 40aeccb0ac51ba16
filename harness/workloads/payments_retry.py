"""payments-retry: a payments consumer that retries, backs off and dead-letters (ch06).

The order desk publishes one ``CapturePayment`` message per payment to the
``payments`` queue, a RabbitMQ quorum queue. The learner's consumer gets each
delivery through ``on_message(delivery)`` and calls the payments service,
:class:`PaymentService`, which captures the payment. The service behind it is
ch04's idempotent consumer: it captures each message id once, so a copy of a
message that was captured already is absorbed.

A call can fail, as the trace says:

- ``fail``: the next attempts of a message time out, ``PaymentFailed`` with
  ``transient=True`` (it may succeed later);
- ``decline``: every attempt is declined, ``transient=False``, until the fix;
- ``crash``: every attempt kills the consumer's process, until the fix;
- ``fix``: the fix is deployed, and every attempt from then on succeeds.

A message that failed waits in ``payments.wait``: published there with an
``expiration`` in milliseconds, it waits that long, then the broker
dead-letters it back to ``payments`` (reason ``expired``). One RabbitMQ queue
expires messages only at its head, so a short wait would queue behind a long
one; the world keeps one TTL queue per wait, ``payments.wait.<ms>``, as one
would declare them on RabbitMQ. A message given up on goes to
``payments.dead`` with the headers ``x-reason``, ``x-attempts``,
``x-first-failure`` and ``x-last-failure``. ``payments`` itself dead-letters
to ``payments.dead`` past RabbitMQ 4's default delivery limit, 20 returns: a
last safety net, whose dead letters carry no reason of the consumer's.

The consumer is built as ``factory(channel=..., payments=..., store=...,
random=..., max_attempts=..., base=..., cap=...)``; ``random`` is
:class:`Jitter`, drawing from the world's seeded generator. For a ``replay``
step a second component, the replayer, is built as ``factory(channel=...,
store=...)`` and consumes ``payments.dead`` from then on: pass both as
:class:`WithReplayer`.

The effect that counts is a capture, keyed by its payment: ``"o-1 (m1)"``
(the order and the message id of the trace). A payment captured under two
message ids is *duplicated*.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from harness.broker import Message
from harness.broker_settings import RABBITMQ_4
from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports import Channel, Store
from harness.scheduler import BudgetExceeded
from harness.traces import NUMBER, POSITIVE, STRING, Step, Trace, Vocabulary
from harness.workloads.payments_inbox import message_key
from harness.workloads.payments_service import Jitter, PaymentService, Service
from harness.workloads.play import add_panels, new_world, outcome_of, schedule_steps
from harness.world import Component

__all__ = ["DEAD", "NAME", "QUEUE", "WAIT", "Jitter", "PaymentService", "WithReplayer", "run"]

NAME = "payments-retry"
QUEUE = "payments"
WAIT = "payments.wait"
DEAD = "payments.dead"
SETTINGS = replace(RABBITMQ_4, unroutable="raise")
"""RabbitMQ 4's broker (ready messages handed out at once, quorum queues limited to 20
returns), except that a publish to a queue that does not exist is an error, not a drop."""

SECONDS = ((int, float), "a number of seconds > 0", 0.001)
MAX_ATTEMPTS, BASE, CAP = 5, 0.050, 1.0

VOCABULARY = Vocabulary(
    actions={
        "publish": {"id": STRING, "order": STRING, "amount": NUMBER},
        "burst": {"count": POSITIVE, "fail": POSITIVE},
        "fail": {"id": STRING, "times": POSITIVE},
        "decline": {"id": STRING},
        "crash": {"id": STRING},
        "fix": {},
        "replay": {},
    },
    settings={
        "prefetch": (POSITIVE, 1),
        "max_attempts": (POSITIVE, MAX_ATTEMPTS),
        "base": (SECONDS, BASE),
        "cap": (SECONDS, CAP),
    },
)


@dataclass(frozen=True)
class WithReplayer:
    """The two components of a replay: the learner's consumer and its replayer."""

    consumer: Callable[..., Any]
    replayer: Callable[..., Any]


def _declare(broker: Any) -> None:
    dead_letter = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": DEAD}
    broker.declare_queue(QUEUE, arguments={"x-queue-type": "quorum", **dead_letter})
    broker.declare_queue(DEAD, arguments={"x-queue-type": "quorum"})


def _wait_queue(broker: Any, expiration: int, declared: set[str]) -> str:
    """The TTL queue of one wait: its messages expire back to ``payments`` in order."""
    name = f"{WAIT}.{expiration}"
    if name in declared:
        return name
    declared.add(name)
    broker.declare_queue(
        name,
        arguments={
            "x-queue-type": "quorum",
            "x-message-ttl": expiration,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": QUEUE,
        },
    )
    return name


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the consumer (and replayer) built by ``factory``."""
    if isinstance(factory, WithReplayer):
        consumer_factory, replayer_factory = factory.consumer, factory.replayer
    else:
        consumer_factory, replayer_factory = factory, None
    messages = _messages(trace)
    tries = messages * trace.settings.get("max_attempts", MAX_ATTEMPTS)
    world = new_world(trace, schedule, freezer, call_limit=2_000 + 100 * tries)
    timeline, scheduler = world.timeline, world.scheduler
    broker = world.broker
    broker.settings = SETTINGS
    _declare(broker)
    service = Service(timeline, world.now)
    jitter = _random.Random(f"jitter {schedule.seed}")
    accepted: dict[str, str] = {}
    published: dict[str, float] = {}
    dead_letters: list[tuple[float, str, dict[str, Any]]] = []
    replays: list[tuple[float, str]] = []
    sent = broker.publish
    waits: set[str] = set()

    def publish(queue: str, message: Message) -> bool:
        if queue == WAIT:
            if message.expiration is None:
                raise ValueError(
                    f"a message waits in {WAIT} for its own expiration: publish "
                    f"{message.message_id} there with expiration=<milliseconds>"
                )
            queue = _wait_queue(broker, message.expiration, waits)
        elif queue == DEAD:
            dead_letters.append((world.now(), message.message_id, dict(message.headers)))
        elif queue == QUEUE and message.message_id in dead_ids():
            replays.append((world.now(), message.message_id))
        return sent(queue, message)

    broker.publish = publish

    def dead_ids() -> set[str]:
        return {mid for _, mid, _ in dead_letters} | {m.message_id for m in _in(DEAD)}

    def _in(queue: str) -> list[Message]:
        return broker.ready(queue) + broker.unacked(queue)

    def publish_step(args: dict[str, Any]) -> None:
        mid, order = args["id"], args["order"]
        _publish(mid, order, args["amount"])

    def _publish(mid: str, order: str, amount: float) -> None:
        message = Message(mid, {"order_id": order, "amount": amount}, summary=f" ({order})")
        sent(QUEUE, message)
        accepted[mid] = service.keys[(order, amount)] = message_key(order, mid)
        published.setdefault(mid, world.now())
        timeline.record(world.now(), "producer", "broker", f"publish {mid} ({order})")

    def burst(args: dict[str, Any]) -> None:
        for n in range(1, args["count"] + 1):
            service.timeouts[f"m{n}"] = args["fail"]
            _publish(f"m{n}", f"o-{n}", n)
        timeline.record(
            world.now(), "harness", "payments", f"each of them times out {args['fail']} times"
        )

    def fail(args: dict[str, Any]) -> None:
        service.timeouts[args["id"]] = service.timeouts.get(args["id"], 0) + args["times"]

    def decline(args: dict[str, Any]) -> None:
        service.declined.add(args["id"])

    def crash(args: dict[str, Any]) -> None:
        service.crashing.add(args["id"])

    fixed: list[float] = []

    def fix(args: dict[str, Any]) -> None:
        service.fix()
        fixed.append(world.now())
        timeline.record(world.now(), "harness", "payments", "the fix is deployed")

    prefetch = trace.settings.get("prefetch", 1)
    settings = {key: trace.settings[key] for key in ("max_attempts", "base", "cap")}

    def start(host: Component) -> None:
        state = broker.open_channel(host.name, prefetch=prefetch)
        host.on_crash(lambda: broker.close_channel(state, reason=f"{host.name} {host.stop_reason}"))
        conn = world.database.connect()
        host.on_crash(conn.close)
        channel = Channel(broker, state, host.gate, timeline)
        store = Store(conn, host.gate, timeline, world.now)
        instance = consumer_factory(
            channel=channel,
            payments=PaymentService(service, host.gate),
            store=store,
            random=Jitter(jitter),
            **settings,
        )
        on_message = instance.on_message
        broker.consume(state, QUEUE, lambda delivery: host.invoke(on_message, delivery))

    def start_replayer(host: Component) -> None:
        state = broker.open_channel(host.name, prefetch=1)
        host.on_crash(lambda: broker.close_channel(state, reason=f"{host.name} {host.stop_reason}"))
        conn = world.database.connect()
        host.on_crash(conn.close)
        channel = Channel(broker, state, host.gate, timeline)
        store = Store(conn, host.gate, timeline, world.now)
        instance = replayer_factory(channel=channel, store=store)
        on_message = instance.on_message
        broker.consume(state, DEAD, lambda delivery: host.invoke(on_message, delivery))

    consumer = world.host("consumer", start, under_test=replayer_factory is None)
    tested = consumer
    if replayer_factory is not None:
        tested = world.host("replayer", start_replayer)

    replayed: list[float] = []

    def replay(args: dict[str, Any]) -> None:
        replayed.append(world.now())
        if replayer_factory is None:
            raise ValueError(f"{trace.name} replays: run it with WithReplayer(consumer, replayer)")
        tested.start()

    schedule_steps(
        scheduler,
        trace.steps,
        {
            "publish": publish_step,
            "burst": burst,
            "fail": fail,
            "decline": decline,
            "crash": crash,
            "fix": fix,
            "replay": replay,
        },
    )
    scheduler.at(0.0, consumer.start, priority=2)
    add_panels(world, lambda: _panels(service))
    notes: dict[str, Any] = {}
    try:
        world.run(max_events=1_000 + 40 * tries)
    except BudgetExceeded as error:
        notes["budget"] = str(error)
    # The wait queues have no consumer: what they hold is ready, never unacked.
    waiting = [m.message_id for q in [QUEUE, *sorted(waits)] for m in broker.ready(q)]
    waiting += [m.message_id for m in broker.unacked(QUEUE)]
    if replayer_factory is not None:
        waiting += [m.message_id for m in _in(DEAD)]
    world.stop()
    final_dead = [(m.message_id, dict(m.headers)) for m in _in(DEAD)]
    notes.update(
        calls=service.calls,
        published=published,
        dead_letters=dead_letters,
        final_dead=final_dead,
        replays=replays,
        fixed=fixed[0] if fixed else None,
        replayed=replayed[0] if replayed else None,
        failing=_failing(trace),
        consumer_crashes=consumer.crashes,
        epoch=world.epoch,
        **settings,
    )
    if world.servers is not None:
        notes["slack"] = world.clock.slack
    world.close()
    return outcome_of(
        world,
        tested,
        trace,
        schedule,
        accepted=accepted,
        effects=service.effects,
        unsettled=sorted(set(waiting)),
        effect="captured",
        notes=notes,
    )


def _messages(trace: Trace) -> int:
    return sum(
        step.args["count"] if step.action == "burst" else step.action == "publish"
        for step in trace.steps
    )


def _failing(trace: Trace) -> dict[str, tuple[str, int]]:
    """Each message the trace makes fail: id → its kind ("transient", "permanent" or
    "crash") and how many timeouts it has."""
    failing: dict[str, tuple[str, int]] = {}
    for step in trace.steps:
        args = step.args
        if step.action == "burst":
            for n in range(1, args["count"] + 1):
                failing[f"m{n}"] = ("transient", args["fail"])
        elif step.action == "fail":
            kind, times = failing.get(args["id"], ("transient", 0))
            failing[args["id"]] = (kind, times + args["times"])
        elif step.action in ("decline", "crash"):
            kind = "permanent" if step.action == "decline" else "crash"
            failing[args["id"]] = (kind, failing.get(args["id"], ("", 0))[1])
    return failing


def _panels(service: Service) -> list:
    import heapq

    from harness.debugger.panel import MOST_ROWS, Panel

    first = heapq.nsmallest(MOST_ROWS, service.calls.items(), key=lambda item: _order(item[0]))
    rows = [(mid, len(calls), ", ".join(how for _, how in calls[-4:])) for mid, calls in first]
    return [
        Panel(
            "payments service",
            ("message", "calls", "last results"),
            rows,
            "each call the consumer made to capture a message, and how it ended",
            total=len(service.calls),
        )
    ]


def _order(mid: str) -> tuple[int, str]:
    """m2 before m10: a message id's number first."""
    digits = mid.lstrip("m")
    return (int(digits), mid) if digits.isdigit() else (0, mid)


def generate(spec: tuple[int, ...], **settings: Any) -> Trace:
    """A trace of ``len(spec)`` messages; message i times out ``spec[i]`` times.

    >>> [s.action for s in generate((0, 2)).steps]
    ['publish', 'fail', 'publish']
    """
    steps = []
    for index, failures in enumerate(spec, start=1):
        if failures:
            steps.append(Step(0.0, "fail", {"id": f"m{index}", "times": failures}))
        args = {"id": f"m{index}", "order": f"o-{(index + 1) // 2}", "amount": 10 * index}
        steps.append(Step(0.0, "publish", args))
    merged = {"prefetch": 1, "max_attempts": MAX_ATTEMPTS, "base": BASE, "cap": CAP, **settings}
    return Trace(
        name="gen:" + ".".join(str(f) for f in spec),
        title=f"{len(spec)} generated message" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: messages, timeouts and crashes.",
        workload=NAME,
        steps=tuple(steps),
        settings=merged,
    )


def specs(*, max_messages: int = 4, max_failures: int = 8):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one healthy message)."""
    from hypothesis import strategies as st

    return st.lists(st.integers(0, max_failures), min_size=1, max_size=max_messages).map(tuple)
