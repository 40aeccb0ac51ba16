"""flash-sale: a burst of orders, a desk that must not drown the inventory service (ch07).

A flash sale opens and orders arrive faster than the warehouses can reserve
stock. The order desk takes each order (the learner's intake, or the
harness's own publisher) and publishes one message per order to the
``reservations`` queue, a classic queue that may be declared with
``x-max-length`` and ``x-overflow: reject-publish``: when it is full, the
broker nacks the publish. Each inventory consumer (the learner's, or the
harness's own) takes deliveries through a credit window (``basic.qos``),
keeps them in a buffer, and hands them one at a time to its warehouse, which
reserves one order every ``1 / rate`` seconds.

The trace says what happens:

- ``burst``: ``count`` orders arrive, spread evenly over ``over`` seconds
  (all at once when it is 0); orders are numbered m1, m2, ... across bursts;
- ``stall``: consumer ``consumer``'s warehouse stops for ``for`` seconds (a
  reservation under way finishes that much later);
- ``alarm``: the broker's memory alarm blocks every publish for ``for`` seconds.

Settings: ``rates`` (reservations per second, one per consumer), ``window``
(the consumer's credit window), ``max_length`` (0: no limit), and the
intake's ``high`` and ``low`` watermarks, ``base`` and ``cap`` (its backoff).

Pass :class:`Sale` to run the learner's consumer and intake together, or the
intake with the harness's consumers (``Sale(intake=...)``); a bare factory is
the consumer, fed by the harness's publisher. ``Sale(..., lag=True)`` also
asks each consumer's ``lag()`` every 10 ms.

The world is watched after every event of the run (each delivery, ack,
reservation, publish, arrival): the checkers of :mod:`harness.checkers.backpressure`
read these series, so a bound broken for one step is seen.
"""

from __future__ import annotations

import random as _random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from harness.broker import Broker, ChannelState, Delivery, Message
from harness.broker_settings import RABBITMQ_3
from harness.faults import Schedule
from harness.outcome import Outcome
from harness.traces import BOOLEAN, COUNT, POSITIVE, Trace, Vocabulary
from harness.workloads.flash_sale_ports import (
    FlowChannel,
    PublishBlocked,
    Publisher,
    PublishRefused,
    Timer,
    Warehouse,
    WarehouseBusy,
    ready_count,
)
from harness.workloads.payments_service import Jitter
from harness.workloads.play import add_panels, new_world, outcome_of, schedule_steps
from harness.world import Component, World

__all__ = [
    "NAME",
    "QUEUE",
    "FlowChannel",
    "PublishBlocked",
    "PublishRefused",
    "Publisher",
    "Sale",
    "Timer",
    "Warehouse",
    "WarehouseBusy",
    "run",
]

NAME = "flash-sale"
QUEUE = "reservations"
SETTINGS = replace(RABBITMQ_3, unroutable="raise")
"""RabbitMQ's broker (a ready message goes to a consumer with room at once), except that a
publish to a queue that does not exist is an error."""
LAG_EVERY = 0.010
"""Virtual seconds between two calls of each consumer's ``lag()``."""
RETRY_EVERY = 0.005
"""How long the harness's own publisher waits before it publishes a refused order again."""
WARM_UP = 0.005
"""After a (re)start a consumer's window takes a round trip to fill: throughput is not
asked of it for this long."""
SECONDS = ((int, float), "a number of seconds >= 0", 0)
RATES = (list, "a list of reservations per second, one per consumer")

VOCABULARY = Vocabulary(
    actions={
        "burst": {"count": POSITIVE, "over": SECONDS},
        "stall": {"consumer": POSITIVE, "for": SECONDS},
        "alarm": {"for": SECONDS},
    },
    settings={
        "rates": (RATES, [200]),
        "window": (POSITIVE, 4),
        "max_length": (COUNT, 0),
        "high": (POSITIVE, 20),
        "low": (COUNT, 10),
        "base": (SECONDS, 0.010),
        "cap": (SECONDS, 0.160),
        "lag": (BOOLEAN, False),
    },
    optional={"burst": frozenset({"over"})},
)


@dataclass(frozen=True)
class Sale:
    """The learner's components of a run: the consumer, the intake, or both.

    A missing one is the harness's own; ``lag=True`` asks the consumers' ``lag()``.
    """

    consumer: Callable[..., Any] | None = None
    intake: Callable[..., Any] | None = None
    lag: bool = False


class Site:
    """The world's side of one inventory consumer: its channel, its warehouse, what it holds."""

    def __init__(self, world: World, name: str, rate: float, effects: dict, reserved: set):
        self.world = world
        self.name = name
        self.rate = rate
        self.work = 1.0 / rate
        self.stalls: list[tuple[float, float]] = []
        self.state: ChannelState | None = None
        self.host: Component | None = None
        self.instance: Any = None
        self.received: dict[int, str] = {}
        self.unfinished: set[str] = set()
        self.working: str | None = None
        self.epoch = 0
        self.busy: list[list[float]] = []
        self.starts: list[float] = []
        self.effects = effects
        self.reserved = reserved
        self.dropped: list[tuple[float, str]] = []
        self.crashes_at: list[float] = []

    # -- what the ports call ----------------------------------------------------------------

    def returned(self, tag: int) -> None:
        mid = self.received.get(tag)
        if mid is not None:
            self.unfinished.discard(mid)

    def acked(self, tag: int, multiple: bool) -> None:
        """Nothing to do: an acked delivery stays held until its reservation is done."""

    def reserve(self, delivery: Delivery) -> None:
        world = self.world
        now = world.now()
        if self.working is not None:
            raise WarehouseBusy(
                f"the warehouse of {self.name} is still reserving {self.working}: reserve "
                f"{delivery.message_id} once on_reserved has been called for it"
            )
        done = self._done_at(now)
        self.working = delivery.message_id
        self.busy.append([now, done])
        order = delivery.body.get("order_id", "?") if isinstance(delivery.body, Mapping) else "?"
        world.timeline.record(
            now, self.name, "warehouse", f"reserve {delivery.message_id} ({order})"
        )
        epoch = self.epoch
        world.scheduler.at(done, lambda: self._finish(delivery, epoch))

    def _done_at(self, start: float) -> float:
        done = start + self.work
        for begin, end in sorted(self.stalls):
            if begin < done and end > start:
                done += end - max(begin, start)
        return done

    def _finish(self, delivery: Delivery, epoch: int) -> None:
        if epoch != self.epoch:
            return  # the consumer crashed: the work was abandoned
        world = self.world
        mid = delivery.message_id
        self.working = None
        order = delivery.body.get("order_id", "?")
        if mid in self.reserved:
            what = f"reserved {mid} ({order}): a copy, absorbed"
        else:
            self.reserved.add(mid)
            self.effects.setdefault(f"{order} ({mid})", []).append(len(world.timeline))
            what = f"reserved {mid} ({order})"
        world.timeline.record(world.now(), "warehouse", self.name, what)
        self.unfinished.discard(mid)
        if self.host is not None and self.instance is not None:
            self.host.invoke(self.instance.on_reserved, delivery)

    # -- what the world reads ---------------------------------------------------------------

    def holding(self) -> tuple[int, int]:
        """(in flight, buffered): delivered and not yet received; received and not done."""
        state = self.state
        if state is None or not state.open:
            return 0, len(self.unfinished)
        mids = [entry.message.message_id for _, entry in state.unacked.values()]
        got = set(self.received.values())
        in_flight = sum(1 for mid in mids if mid not in got)
        buffered = len(self.unfinished | (set(mids) & got))
        return in_flight, buffered

    def stalled(self, at: float) -> bool:
        return any(begin <= at < end for begin, end in self.stalls)

    def crashed(self) -> None:
        now = self.world.now()
        self.crashes_at.append(now)
        mids = (
            set()
            if self.state is None
            else {e.message.message_id for _, e in self.state.unacked.values()}
        )
        for mid in sorted(self.unfinished - mids):
            self.dropped.append((now, mid))
        self.epoch += 1
        if self.working is not None and self.busy:
            self.busy[-1][1] = min(self.busy[-1][1], now)
        self.working = None
        self.received.clear()
        self.unfinished.clear()
        self.instance = None


class ReferenceConsumer:
    """The harness's own consumer, for the runs that test the learner's intake."""

    def __init__(self, channel: FlowChannel, warehouse: Warehouse, *, window: int) -> None:
        self.channel, self.warehouse = channel, warehouse
        self.waiting: deque[Delivery] = deque()
        self.busy = False
        channel.qos(window)

    def on_message(self, delivery: Delivery) -> None:
        self.waiting.append(delivery)
        self._next()

    def on_reserved(self, delivery: Delivery) -> None:
        self.channel.ack(delivery.tag)
        self.busy = False
        self._next()

    def _next(self) -> None:
        if not self.busy and self.waiting:
            self.busy = True
            self.warehouse.reserve(self.waiting.popleft())

    def lag(self) -> int:
        return self.channel.depth() + len(self.waiting) + self.busy


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the learner's consumer, intake or both (see :class:`Sale`)."""
    sale = factory if isinstance(factory, Sale) else Sale(consumer=factory)
    settings = trace.settings
    rates = _rates(trace)
    orders = sum(step.args["count"] for step in trace.steps if step.action == "burst")
    world = new_world(trace, schedule, freezer, call_limit=2_000 + 40 * orders)
    timeline, scheduler = world.timeline, world.scheduler
    broker: Broker = world.broker
    broker.settings = SETTINGS
    arguments: dict[str, Any] = {}
    if settings["max_length"]:
        arguments = {"x-max-length": settings["max_length"], "x-overflow": "reject-publish"}
    broker.declare_queue(QUEUE, arguments=arguments)
    effects: dict[str, list[int]] = {}
    reserved: set[str] = set()
    window = settings["window"]
    consumer_factory = sale.consumer or ReferenceConsumer

    sites: list[Site] = []
    for index, rate in enumerate(rates, start=1):
        site = Site(world, f"inventory-{index}", rate, effects, reserved)
        sites.append(site)

        def start(host: Component, site: Site = site) -> None:
            state = broker.open_channel(host.name)
            site.state = state
            site.host = host
            site.starts.append(world.now())

            def closed() -> None:
                site.crashed()
                broker.close_channel(state, reason=f"{host.name} {host.stop_reason}")

            host.on_crash(closed)
            channel = FlowChannel(broker, state, host.gate, timeline, site, QUEUE)
            instance = consumer_factory(
                channel=channel, warehouse=Warehouse(site, host.gate), window=window
            )
            site.instance = instance
            on_message = instance.on_message

            def receive(delivery: Delivery) -> None:
                site.received[delivery.tag] = delivery.message_id
                site.unfinished.add(delivery.message_id)
                host.invoke(on_message, delivery)

            if host.running:
                broker.consume(state, QUEUE, receive)

        learner = sale.consumer is not None
        site.host = world.host(site.name, start, under_test=learner and index == 1)

    # -- the desk: the learner's intake, or the harness's publisher -------------------------
    accepted: dict[str, str] = {}
    confirmed: set[str] = set()
    takes: list[tuple[float, int, str, bool, int]] = []
    attempts: list[tuple[float, int, str, str]] = []
    pending: deque[tuple[str, dict]] = deque()
    jitter = _random.Random(f"jitter {schedule.seed}")
    desk: Component | None = None
    intake: list[Any] = [None]

    def send(mid: str, body: dict) -> None:
        now = world.now()
        if broker.alarm is not None:
            attempts.append((now, len(timeline), mid, "blocked"))
            timeline.record(now, "desk", "broker", f"publish {mid}: blocked (memory alarm)")
            raise PublishBlocked(
                f"connection.blocked: the broker's memory alarm is on; {mid} was not published. "
                "Keep it and publish it again later"
            )
        message = Message(mid, body, summary=f" ({body.get('order_id', '?')})")
        if not broker.publish(QUEUE, message):
            attempts.append((now, len(timeline), mid, "refused"))
            timeline.record(now, "desk", "broker", f"publish {mid}: refused (nack, queue full)")
            raise PublishRefused(f"{QUEUE} is full and nacked {mid}; keep it, try again later")
        attempts.append((now, len(timeline), mid, "confirmed"))
        timeline.record(now, "desk", "broker", f"publish {mid}")
        confirmed.add(mid)

    if sale.intake is not None:

        def start_desk(host: Component) -> None:
            def later(delay: float, callback: Callable[[], Any]) -> None:
                incarnation = host.incarnation

                def ring() -> None:
                    if host.running and host.incarnation == incarnation:
                        host.invoke(callback, what="a call_later callback")

                scheduler.after(delay, ring)

            intake[0] = sale.intake(
                publisher=Publisher(send, host.gate),
                timer=Timer(later, host.gate),
                random=Jitter(jitter),
                high=settings["high"],
                low=settings["low"],
                base=settings["base"],
                cap=settings["cap"],
            )

        desk = world.host("desk", start_desk, under_test=sale.consumer is None)

    def held_by_desk() -> int:
        if sale.intake is None:
            return len(pending)
        return sum(1 for mid in accepted if mid not in confirmed)

    def arrive(mid: str, body: dict) -> None:
        now = world.now()
        timeline.record(now, "customer", "desk", f"order {body['order_id']} ({mid})")
        if sale.intake is None:
            accepted[mid] = f"{body['order_id']} ({mid})"
            pending.append((mid, body))
            if len(pending) == 1:
                flush()
            return
        held = held_by_desk()
        answer = desk.invoke(lambda: _answer(intake[0].take(mid, body)), what="take")
        if answer is None:
            return
        takes.append((now, len(timeline), mid, answer, held))
        timeline.record(now, "desk", "customer", f"{'accepted' if answer else 'busy'} {mid}")
        if answer:
            accepted[mid] = f"{body['order_id']} ({mid})"

    def flush() -> None:
        while pending:
            mid, body = pending[0]
            try:
                send(mid, body)
            except PublishRefused:
                scheduler.after(RETRY_EVERY, flush)
                return
            pending.popleft()

    numbered = [0]

    def burst(args: Mapping[str, Any]) -> None:
        count, over = args["count"], args.get("over", 0)
        now = world.now()
        for n in range(count):
            numbered[0] += 1
            mid = f"m{numbered[0]}"
            body = {"order_id": f"o-{numbered[0]}"}
            scheduler.at(now + over * n / count, lambda m=mid, b=body: arrive(m, b), priority=0)

    def stall(args: Mapping[str, Any]) -> None:
        index = args["consumer"]
        if index > len(sites):
            raise ValueError(f"{trace.name}: stall names consumer {index}; it has {len(sites)}")
        now = world.now()
        sites[index - 1].stalls.append((now, now + args["for"]))
        timeline.record(
            now, "harness", sites[index - 1].name, f"the warehouse stalls for {args['for']:g} s"
        )

    alarms: list[tuple[float, float]] = []

    def alarm(args: Mapping[str, Any]) -> None:
        now = world.now()
        alarms.append((now, now + args["for"]))
        broker.raise_alarm("memory")
        scheduler.after(args["for"], broker.clear_alarm)

    if desk is not None:
        scheduler.at(0.0, desk.start, priority=0)  # before the first order arrives
    remaining = schedule_steps(
        scheduler, trace.steps, {"burst": burst, "stall": stall, "alarm": alarm}
    )
    for site in sites:
        scheduler.at(0.0, site.host.start, priority=2)

    def lag_now() -> int:
        total = ready_count(broker, QUEUE) + held_by_desk()
        for site in sites:
            in_flight, buffered = site.holding()
            total += in_flight + buffered
        return total

    reports: list[tuple[float, int, str, Any, int, int]] = []

    def poll() -> None:
        now = world.now()
        for site in sites:
            host = site.host
            if not host.running or site.instance is None:
                continue
            in_flight, buffered = site.holding()
            true = ready_count(broker, QUEUE) + in_flight + buffered
            got = host.invoke(site.instance.lag, what=f"lag() of {site.name}")
            if host.running:
                reports.append((now, len(timeline), site.name, got, true - in_flight, true))
        # Poll while anything may still change: a lag that nothing will ever move (an order
        # the desk forgot) must not keep the run going.
        if remaining() or scheduler.peek() is not None:
            scheduler.after(LAG_EVERY, poll)

    if sale.lag:
        scheduler.at(LAG_EVERY, poll)

    add_panels(world, lambda: _panels(sites, broker))
    series: dict[str, list[tuple[float, int, int, int, bool]]] = {s.name: [] for s in sites}
    lags: list[tuple[float, int, int, int]] = []
    notes: dict[str, Any] = {}
    budget = 4_000 + 60 * orders
    seen = -1
    last: dict[str, tuple] = {}
    events = 0
    while scheduler.step():
        events += 1
        if events > budget:
            notes["budget"] = f"more than {budget} events without settling"
            break
        if len(timeline) == seen:
            continue
        seen = len(timeline)
        step = seen - 1  # the line that made the change
        now = world.now()
        ready = ready_count(broker, QUEUE)
        total = ready + held_by_desk()
        for site in sites:
            in_flight, buffered = site.holding()
            total += in_flight + buffered
            row = (in_flight, buffered, site.working is not None)
            if last.get(site.name) != row:
                last[site.name] = row
                series[site.name].append((now, step, in_flight, buffered, row[2]))
        if not lags or lags[-1][2:] != (total, ready):
            lags.append((now, step, total, ready))
    end = world.now()
    unsettled = [m.message_id for m in broker.ready(QUEUE) + broker.unacked(QUEUE)]
    unsettled += [mid for mid in accepted if mid not in confirmed and sale.intake is not None]
    unsettled += [mid for mid, _ in pending]
    world.stop()
    arrivals = [at for at, *_ in takes] if sale.intake is not None else []
    notes.update(
        series=series,
        lags=lags,
        reports=reports,
        takes=takes,
        attempts=attempts,
        sites={
            s.name: {
                "rate": s.rate,
                "work": s.work,
                "busy": [tuple(b) for b in s.busy],
                "stalls": list(s.stalls),
                "starts": list(s.starts),
                "crashes": list(s.crashes_at),
                "dropped": list(s.dropped),
            }
            for s in sites
        },
        window=window,
        high=settings["high"],
        low=settings["low"],
        base=settings["base"],
        cap=settings["cap"],
        alarms=alarms,
        orders=orders,
        intake=sale.intake is not None,
        consumer=sale.consumer is not None,
        arrivals_end=max(arrivals, default=_arrivals_end(trace)),
        end=end,
    )
    tested = desk if sale.consumer is None and desk is not None else sites[0].host
    world.close()
    return outcome_of(
        world,
        tested,
        trace,
        schedule,
        accepted=accepted,
        effects=effects,
        unsettled=sorted(set(unsettled)),
        effect="reserved",
        notes=notes,
    )


def _answer(answer: Any) -> bool:
    if not isinstance(answer, bool):
        raise TypeError(
            f"take() must answer True (accepted) or False (busy: the customer is told to try "
            f"again later), got {answer!r}"
        )
    return answer


def _rates(trace: Trace) -> list[float]:
    rates = trace.settings["rates"]
    if not rates or not all(
        isinstance(r, (int, float)) and not isinstance(r, bool) and r > 0 for r in rates
    ):
        raise ValueError(
            f"{trace.source or trace.name}: settings.rates: expected a non-empty list of "
            f"reservations per second > 0, one per consumer, got {rates!r}"
        )
    return [float(r) for r in rates]


def _arrivals_end(trace: Trace) -> float:
    ends = [s.at + s.args.get("over", 0) for s in trace.steps if s.action == "burst"]
    return max(ends, default=0.0)


def _panels(sites: list[Site], broker: Broker) -> list:
    from harness.debugger.panel import Panel

    rows = []
    for site in sites:
        in_flight, buffered = site.holding()
        rows.append((site.name, f"{site.rate:g}/s", in_flight, buffered, site.working or "-"))
    return [
        Panel(
            "consumers",
            ("consumer", "rate", "in flight", "buffered", "reserving"),
            rows,
            "in flight: delivered, not yet received; buffered: received, not yet reserved",
        )
    ]
