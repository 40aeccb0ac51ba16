"""message-bus: the order desk sends commands and publishes events on an in-process bus.

The learner's bus routes the two one-way families of messages:

- a command (``PlaceOrder``, ``ChargePayment``) goes to exactly one handler;
  ``send`` raises :class:`~harness.ports.messaging.NoHandler` when its type has no
  handler and :class:`~harness.ports.messaging.TooManyHandlers` when it has two
  (either at ``send``, or already when the second handler registers, which then
  never gets a command). The handler may refuse the command: its
  :class:`~harness.ports.messaging.Refused` goes through ``send`` to the sender;
- an event (``OrderPlaced``, ``PaymentCaptured``) goes to every subscriber of its
  type, each on its own: one that raises does not stop the others. ``publish``
  returns the names of the subscribers that failed, and the desk publishes the
  same event (same ``id``) again 10 ms later, up to ``retries`` times; a
  subscriber that already has the event must not get it twice. What ``publish``
  returns must name exactly the subscribers that raised and have not taken the
  event in.

Handlers and subscribers are the harness's (the services: payments, inventory,
shipping, notifications, loyalty); they record what reached them.

The learner's component is built as ``factory()`` and must have
``handle(command_type, handler)``, ``send(command)``,
``subscribe(event_type, name, subscriber)`` and ``publish(event) -> list[str]``.
Messages are ``{"type": str, "id": str, "order_id": str}``.

Trace actions: ``handle = {command, handler}``, ``subscribe = {event, subscriber}``,
``send = {id, command, order}``, ``publish = {id, event, order}``,
``fail = {subscriber, event, times}`` (that subscriber raises the first ``times``
times the event with that id reaches it) and ``refuse = {command}`` (the handler
that gets the command with that id refuses it: it raises ``Refused``). Setting:
``retries`` (default 2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports.messaging import NoHandler, Refused, SubscriberFailed, TooManyHandlers
from harness.traces import COUNT, STRING, Step, Trace, Vocabulary
from harness.workloads.play import new_world, run_until_settled, schedule_steps
from harness.world import Component

NAME = "message-bus"
RETRY_DELAY = 0.010
"""Virtual seconds before the desk publishes an event again after a subscriber failed."""

VOCABULARY = Vocabulary(
    actions={
        "handle": {"command": STRING, "handler": STRING},
        "subscribe": {"event": STRING, "subscriber": STRING},
        "send": {"id": STRING, "command": STRING, "order": STRING},
        "publish": {"id": STRING, "event": STRING, "order": STRING},
        "fail": {"subscriber": STRING, "event": STRING, "times": COUNT},
        "refuse": {"command": STRING},
    },
    settings={"retries": (COUNT, 2)},
)


class Sent(NamedTuple):
    """One ``send``: what was registered for its type then, and what came of it."""

    command: str
    type: str
    handlers: tuple[str, ...]
    """The handlers whose registration the bus accepted, before this send."""
    refused: tuple[tuple[str, str], ...]
    """Registrations for this type that the bus refused: (handler, error text)."""
    handled_by: tuple[str, ...]
    error: tuple[str, str] | None
    """(exception class, message) when ``send`` raised NoHandler, TooManyHandlers or Refused."""
    reply: Any
    step: int
    refused_by: tuple[str, ...] = ()
    """The handlers that refused the command (raised Refused at it)."""


class Delivery(NamedTuple):
    time: float
    event: str
    subscriber: str
    round: int
    ok: bool
    step: int


class Published(NamedTuple):
    event: str
    type: str
    subscribers: tuple[str, ...]
    """Who subscribed to the event's type before it was first published, in order."""
    failures: dict[str, int]
    """Subscriber → how many times the trace makes it fail on this event."""
    rounds: int
    """How many times the desk published it (1 + the retries it made)."""
    returned: tuple[Any, ...]
    """What each ``publish`` of it returned."""


@dataclass
class BusOutcome(Outcome):
    """An outcome with every send, every delivery of an event, and every publish."""

    sent: list[Sent] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    published: dict[str, Published] = field(default_factory=dict)
    retries: int = 2


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> BusOutcome:
    """Play ``trace`` against the bus built by ``factory``."""
    world = new_world(trace, schedule, freezer)
    timeline, scheduler = world.timeline, world.scheduler
    retries = trace.settings.get("retries", 2)
    instance: dict[str, Any] = {}
    accepted: dict[str, list[str]] = {}
    refused: dict[str, list[tuple[str, str]]] = {}
    subscribers: dict[str, list[str]] = {}
    failing: dict[tuple[str, str], int] = {}
    handled: dict[str, list[str]] = {}
    refusing: set[str] = set()
    refusals: dict[str, list[str]] = {}
    sent: list[Sent] = []
    deliveries: list[Delivery] = []
    published: dict[str, Published] = {}
    rounds: dict[str, int] = {}

    def start(host: Component) -> None:
        instance["bus"] = factory()

    bus = world.host("bus", start)
    scheduler.at(0.0, bus.start, priority=0)

    def now() -> float:
        return world.now()

    def handler_for(name: str) -> Callable[[Any], Any]:
        def handler(command: Any) -> dict[str, Any]:
            command_id = _field(command, "id")
            handled.setdefault(command_id, []).append(name)
            if command_id in refusing:
                refusals.setdefault(command_id, []).append(name)
                timeline.record(now(), "bus", name, f"handle {_describe(command)}  ✗ refused")
                raise Refused(f"{name} refuses {command_id}: the card was declined")
            timeline.record(now(), "bus", name, f"handle {_describe(command)}")
            return {"handled_by": name, "command": command_id}

        return handler

    def subscriber_for(name: str) -> Callable[[Any], None]:
        def subscriber(event: Any) -> None:
            event_id = _field(event, "id")
            current = rounds.get(event_id, 0)
            key = (name, event_id)
            step = len(timeline)
            if failing.get(key, 0) > 0:
                failing[key] -= 1
                deliveries.append(Delivery(now(), event_id, name, current, False, step))
                timeline.record(now(), "bus", name, f"{_describe(event)}  ✗ {name} fails")
                raise SubscriberFailed(f"{name} could not take {event_id} in")
            deliveries.append(Delivery(now(), event_id, name, current, True, step))
            timeline.record(now(), "bus", name, _describe(event))

        return subscriber

    def handle(args: dict[str, Any]) -> None:
        kind, name = args["command"], args["handler"]
        timeline.record(now(), "harness", "bus", f"{name} handles {kind}")

        def register() -> None:
            try:
                instance["bus"].handle(kind, handler_for(name))
            except TooManyHandlers as error:
                refused.setdefault(kind, []).append((name, str(error)))
                timeline.record(now(), "bus", "harness", f"refused: TooManyHandlers: {error}")
                return
            accepted.setdefault(kind, []).append(name)

        bus.invoke(register, what="handle() of the bus")

    def subscribe(args: dict[str, Any]) -> None:
        kind, name = args["event"], args["subscriber"]
        timeline.record(now(), "harness", "bus", f"{name} subscribes to {kind}")
        bus.invoke(
            lambda: instance["bus"].subscribe(kind, name, subscriber_for(name)),
            what="subscribe() of the bus",
        )
        subscribers.setdefault(kind, []).append(name)

    def send(args: dict[str, Any]) -> None:
        command = {"type": args["command"], "id": args["id"], "order_id": args["order"]}
        kind = command["type"]
        timeline.record(now(), "desk", "bus", f"send {_describe(command)}")
        before = (tuple(accepted.get(kind, ())), tuple(refused.get(kind, ())))
        outcome: dict[str, Any] = {"error": None, "reply": None}

        def attempt() -> None:
            try:
                outcome["reply"] = _plain(instance["bus"].send(dict(command)))
            except (NoHandler, TooManyHandlers, Refused) as error:
                outcome["error"] = (type(error).__name__, str(error))

        bus.invoke(attempt, what="send() of the bus")
        step = len(timeline)
        if outcome["error"]:
            timeline.record(now(), "bus", "desk", "raised {}: {}".format(*outcome["error"]))
        else:
            timeline.record(now(), "bus", "desk", f"returned {outcome['reply']!r}")
        sent.append(
            Sent(
                command["id"],
                kind,
                *before,
                tuple(handled.get(command["id"], ())),
                outcome["error"],
                outcome["reply"],
                step,
                tuple(refusals.get(command["id"], ())),
            )
        )

    def publish(args: dict[str, Any]) -> None:
        event = {"type": args["event"], "id": args["id"], "order_id": args["order"]}
        event_id = event["id"]
        if event_id in published:
            raise ValueError(f"trace {trace.name}: event id {event_id!r} is published twice")
        failures = {s: n for (s, e), n in failing.items() if e == event_id}
        published[event_id] = Published(
            event_id, event["type"], tuple(subscribers.get(event["type"], ())), failures, 0, ()
        )

        def once() -> None:
            rounds[event_id] = rounds.get(event_id, 0) + 1
            again = " again" if rounds[event_id] > 1 else ""
            timeline.record(now(), "desk", "bus", f"publish{again} {_describe(event)}")
            result: dict[str, Any] = {}

            def attempt() -> None:
                result["failed"] = _plain(instance["bus"].publish(dict(event)))

            bus.invoke(attempt, what="publish() of the bus")
            failed = result.get("failed")
            record = published[event_id]
            published[event_id] = record._replace(
                rounds=rounds[event_id], returned=record.returned + (failed,)
            )
            if failed:
                timeline.record(now(), "bus", "desk", f"failed: {', '.join(map(str, failed))}")
                if rounds[event_id] <= retries:
                    scheduler.after(RETRY_DELAY, once)

        once()

    def fail(args: dict[str, Any]) -> None:
        failing[(args["subscriber"], args["event"])] = args["times"]

    def refuse(args: dict[str, Any]) -> None:
        refusing.add(args["command"])

    actions = {"handle": handle, "subscribe": subscribe, "send": send, "publish": publish}
    schedule_steps(scheduler, trace.steps, {**actions, "fail": fail, "refuse": refuse})
    notes = run_until_settled(world, trace)
    world.stop()
    world.close()
    return BusOutcome(
        accepted={},
        effects={},
        effect="delivered",
        timeline=timeline,
        schedule=schedule,
        trace_name=trace.name,
        notes=notes,
        sent=sent,
        deliveries=deliveries,
        published=published,
        retries=retries,
    )


def _field(message: Any, key: str) -> str:
    try:
        return str(message[key])
    except (TypeError, KeyError, IndexError):
        return "?"


def _describe(message: Any) -> str:
    return f"{_field(message, 'type')} {_field(message, 'id')} ({_field(message, 'order_id')})"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(value)
    return value


# -- generated traces --------------------------------------------------------------------------

SERVICES = ("inventory", "shipping", "notifications", "loyalty", "payments")


def generate(spec: tuple[int, ...], *, retries: int = 2) -> Trace:
    """Subscriber i of ``OrderPlaced`` fails ``spec[i]`` times on the first of two events.

    The trace also registers one handler per command and sends one of each, and
    publishes a ``PaymentCaptured`` that nobody subscribes to.
    """
    names = [SERVICES[i] if i < len(SERVICES) else f"service-{i}" for i in range(len(spec))]
    steps = [
        Step(0.0, "handle", {"command": "PlaceOrder", "handler": "orders"}),
        Step(0.0, "handle", {"command": "ChargePayment", "handler": "payments"}),
    ]
    steps += [Step(0.0, "subscribe", {"event": "OrderPlaced", "subscriber": n}) for n in names]
    steps += [
        Step(0.0, "fail", {"subscriber": n, "event": "e1", "times": times})
        for n, times in zip(names, spec, strict=True)
        if times
    ]
    steps += [
        Step(0.001, "send", {"id": "c1", "command": "PlaceOrder", "order": "o-1"}),
        Step(0.002, "publish", {"id": "e1", "event": "OrderPlaced", "order": "o-1"}),
        Step(0.003, "send", {"id": "c2", "command": "ChargePayment", "order": "o-1"}),
        Step(0.004, "publish", {"id": "e2", "event": "PaymentCaptured", "order": "o-1"}),
        Step(0.005, "publish", {"id": "e3", "event": "OrderPlaced", "order": "o-2"}),
    ]
    return Trace(
        name="gen:" + ".".join(str(f) for f in spec),
        title=f"{len(spec)} generated subscriber" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: subscribers of OrderPlaced that fail a few times "
        "(one number per subscriber: how many times it fails on e1).",
        workload=NAME,
        steps=tuple(steps),
        settings={"retries": retries},
    )


def specs(*, max_subscribers: int = 5, max_failures: int = 3):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one healthy subscriber)."""
    from hypothesis import strategies as st

    return st.lists(st.integers(0, max_failures), min_size=1, max_size=max_subscribers).map(tuple)
