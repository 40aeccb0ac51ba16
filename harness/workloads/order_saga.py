"""order-saga: an orchestrated order saga across inventory, payments and shipping (ch08).

An order is a business transaction over three services with no transaction
in common: reserve the stock (inventory), charge the payment (payments), ship
it (shipping). The learner's orchestrator drives it, one saga per order,
through the states ``Reserving``, ``Charging``, ``Shipping`` and ends it
``Completed``; when a step is refused or times out it undoes what was done,
in reverse order, through ``Refunding`` and ``Releasing``, and ends it
``Compensated``.

The orchestrator consumes the ``saga`` queue: one ``OrderPlaced`` message
per order (``{"type": "OrderPlaced", "saga_id", "sku", "quantity",
"amount"}``) and the services' replies (``{"type": "Reply", "saga_id",
"command", "ok"}``). It never calls a service: it writes each command as a
row of the ``outbox`` table (:data:`SCHEMA`), in the same transaction as the
saga's new state in ``sagas``, and the world's relay hands every committed
row to its service, in ``id`` order, :data:`RELAY_EVERY` seconds after the
orchestrator's call that committed it. The
commands are ``ReserveStock``, ``ChargePayment``, ``Ship``,
``RefundPayment`` and ``ReleaseStock``.

A service acts on each message id once (a copy is absorbed, and answered
again) and replies on ``saga``. The trace makes one of them misbehave for
one saga: ``refuse`` (it answers ``ok: false`` and does nothing),
``silent`` (it never acts, never answers), ``delay`` (it acts at once, its
reply comes ``by`` seconds later), ``twice`` (its reply comes twice).
``stall`` holds up the replica that handles the reply to ``command`` of ``saga``
just before its first write, for ``by`` seconds, while the world goes on: with
``replicas = 2`` in the trace's settings the other replica ticks meanwhile, as
two orchestrators of one service would. Inventory refuses a reservation that
its stock cannot cover. A refund or a
release acts on the saga's charge or reservation, and again for every new
message id: compensations are idempotent only by their ids.

Every :data:`TICK` seconds the world calls ``on_tick()``, while some saga is
not ended, for the orchestrator to find the sagas whose ``deadline`` (a
``time.time()``) has passed. The orchestrator is built as
``factory(channel=..., store=..., timeout=...)``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from harness.broker import Message
from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports import Channel, Store
from harness.scheduler import BudgetExceeded
from harness.traces import NUMBER, POSITIVE, STRING, Step, Trace, Vocabulary
from harness.workloads.play import add_panels, new_world, outcome_of, schedule_steps
from harness.world import Component, World

__all__ = ["COMMANDS", "ENDED", "NAME", "QUEUE", "SCHEMA", "STATES", "run"]

NAME = "order-saga"
QUEUE = "saga"
RELAY_EVERY = 0.005
"""Seconds from a call of the orchestrator to the relay's round that hands over what it
committed."""
TICK = 0.050
LATENCY = 0.002
TIMEOUT = 0.100
HORIZON = 2.0
"""Seconds after the trace's last step past which a saga that has not ended is stuck."""

COMMANDS = ("ReserveStock", "ChargePayment", "Ship", "RefundPayment", "ReleaseStock")
STATES = ("Reserving", "Charging", "Shipping", "Completed", "Refunding", "Releasing", "Compensated")
ENDED = ("Completed", "Compensated")
AFTER = {
    "ReserveStock": set(STATES),
    "ChargePayment": set(STATES) - {"Reserving"},
    "Ship": {"Shipping", "Completed", "Refunding", "Releasing", "Compensated"},
    "RefundPayment": {"Refunding", "Releasing", "Compensated"},
    "ReleaseStock": {"Refunding", "Releasing", "Compensated"},
}
"""The committed states from which each command can have been sent: a command relayed while
its saga is in none of them was written for a change that is not (or not yet) committed."""

SCHEMA = (
    """CREATE TABLE sagas (
        saga_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0,
        deadline REAL,
        sku TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        amount REAL NOT NULL
    )""",
    """CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        saga_id TEXT NOT NULL,
        command TEXT NOT NULL
    )""",
)

SECONDS = ((int, float), "a number of seconds > 0", 0.001)
TARGET = {"saga": STRING, "command": STRING}

VOCABULARY = Vocabulary(
    actions={
        "stock": {"sku": STRING, "units": (int, "an integer >= 0", 0)},
        "order": {"saga": STRING, "sku": STRING, "quantity": POSITIVE, "amount": NUMBER},
        "refuse": TARGET,
        "silent": TARGET,
        "delay": {**TARGET, "by": SECONDS},
        "twice": TARGET,
        "stall": {**TARGET, "by": SECONDS},
    },
    settings={"timeout": (SECONDS, TIMEOUT), "replicas": (POSITIVE, 1)},
)


class Services:
    """Inventory, payments and shipping, as one world-side object that remembers every effect."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.stock: dict[str, int] = {}
        self.initial: dict[str, int] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.faults: dict[tuple[str, str], dict[str, Any]] = {}
        self.seen: dict[str, bool] = {}
        self.reserved: dict[str, int] = {}
        self.charged: dict[str, float] = {}
        self.refunded: dict[str, float] = {}
        self.effects: list[tuple[float, str, str, int]] = []
        """(time, saga, command, timeline step) of each effect."""
        self.shipped_unpaid: list[str] = []
        self.phantoms: list[tuple[float, str, str, str]] = []
        self.replies = 0
        self.wake: Callable[[], None] = lambda: None

    def handle(self, message_id: str, saga: str, command: str, state: str | None) -> None:
        world, now = self.world, self.world.now()
        timeline = world.timeline
        what = f"{command} {saga} ({message_id})"
        if command not in COMMANDS or saga not in self.orders:
            timeline.record(now, "relay", "services", f"{what}: unknown, ignored")
            return
        if state is None or state not in AFTER[command]:
            self.phantoms.append((now, saga, command, state or "no saga row"))
        service = _service(command)
        fault = self.faults.get((saga, command), {})
        if fault.get("silent"):
            timeline.record(now, "relay", service, f"{what}: no answer")
            return
        if message_id in self.seen:
            ok = self.seen[message_id]
            timeline.record(now, "relay", service, f"{what}: a copy, absorbed")
        else:
            ok = self._act(message_id, saga, command, fault, service, what)
            self.seen[message_id] = ok
        delay = LATENCY + fault.get("by", 0.0)
        copies = 2 if fault.get("twice") else 1
        for n in range(copies):
            self.world.scheduler.after(
                delay + 0.001 * n, lambda ok=ok: self._reply(service, saga, command, ok)
            )

    def _act(
        self, message_id: str, saga: str, command: str, fault: dict, service: str, what: str
    ) -> bool:
        now, timeline = self.world.now(), self.world.timeline
        order = self.orders[saga]
        if fault.get("refuse"):
            timeline.record(now, "relay", service, f"{what} → refused")
            return False
        if command == "ReserveStock":
            if self.stock.get(order["sku"], 0) < order["quantity"]:
                timeline.record(now, "relay", service, f"{what} → out of stock")
                return False
            self.stock[order["sku"]] -= order["quantity"]
            self.reserved[saga] = self.reserved.get(saga, 0) + order["quantity"]
        elif command == "ChargePayment":
            self.charged[saga] = self.charged.get(saga, 0) + order["amount"]
        elif command == "Ship":
            if self.charged.get(saga, 0) - self.refunded.get(saga, 0) <= 0:
                self.shipped_unpaid.append(saga)
        elif command == "RefundPayment":
            if not self.charged.get(saga):
                timeline.record(now, "relay", service, f"{what}: nothing to refund")
                return True
            self.refunded[saga] = self.refunded.get(saga, 0) + order["amount"]
        elif command == "ReleaseStock":
            if not self.reserved.get(saga):
                timeline.record(now, "relay", service, f"{what}: nothing to release")
                return True
            self.stock[order["sku"]] += order["quantity"]
        self.effects.append((now, saga, command, len(timeline)))
        timeline.record(now, "relay", service, f"{what} → done")
        return True

    def _reply(self, service: str, saga: str, command: str, ok: bool) -> None:
        self.replies += 1
        mid = f"r{self.replies}"
        body = {"type": "Reply", "saga_id": saga, "command": command, "ok": ok}
        verdict = "ok" if ok else "refused"
        self.world.broker.publish(
            QUEUE, Message(mid, body, summary=f" ({command} {saga} {verdict})")
        )
        self.wake()
        self.world.timeline.record(
            self.world.now(), service, "broker", f"reply {mid}: {command} {saga} {verdict}"
        )


WRITES = ("UPDATE", "INSERT", "DELETE", "REPLACE")


class _StallingGate:
    """A replica's gate, with a stall point in front of every call (ch05's interleaving)."""

    __slots__ = ("_gate", "_before")

    def __init__(self, gate: Any, before: Callable[[str], None]) -> None:
        self._gate = gate
        self._before = before

    @property
    def actor(self) -> str:
        return self._gate.actor

    @property
    def dead(self) -> bool:
        return self._gate.dead

    def call(self, what: str, effect: Callable[[], Any]) -> Any:
        if not self._gate.dead:
            self._before(what.upper())
        return self._gate.call(what, effect)

    def kill(self, where: str) -> None:
        self._gate.kill(where)


def _service(command: str) -> str:
    if command in ("ReserveStock", "ReleaseStock"):
        return "inventory"
    return "payments" if command in ("ChargePayment", "RefundPayment") else "shipping"


def _read(world: World, sql: str, params: tuple = ()) -> list[tuple] | None:
    """Committed rows, or None while a writer holds the table (the relay tries again later)."""
    try:
        return world.database.query(sql, params)
    except sqlite3.OperationalError as error:
        if "locked" in str(error):
            return None
        raise


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the orchestrator built by ``factory``."""
    world = new_world(trace, schedule, freezer, call_limit=2_000 + 200 * len(trace.steps))
    timeline, scheduler, broker = world.timeline, world.scheduler, world.broker
    broker.declare_queue(QUEUE)
    for statement in SCHEMA:
        world.database.query(statement)
    services = Services(world)
    timeout = trace.settings.get("timeout", TIMEOUT)
    last_step = max((step.at for step in trace.steps), default=0.0)
    horizon = last_step + HORIZON
    instances: dict[str, Any] = {}
    relayed = [0]
    stalls: list[dict[str, Any]] = []
    handling: dict[str, tuple[str, str]] = {}
    stalled: set[str] = set()

    def before_call(host: Component, conn: sqlite3.Connection, what: str) -> None:
        """Stall ``host`` before its first write for a stalled reply (see ``stall``)."""
        job = handling.get(host.name)
        if job is None or conn.in_transaction or what.split(" ", 1)[0] not in WRITES:
            return
        for stall in stalls:
            if stall["done"] or (stall["saga"], stall["command"]) != job:
                continue
            stall["done"] = True
            stalled.add(host.name)
            until = world.now() + stall["by"]
            timeline.record(world.now(), "harness", host.name, f"stall {stall['by']:g} s")
            scheduler.run(until=until, max_events=100_000)
            world.clock.advance_to(until)
            stalled.discard(host.name)
            timeline.record(world.now(), "harness", host.name, "resume")

    def start(host: Component) -> None:
        state = broker.open_channel(host.name, prefetch=1)
        host.on_crash(lambda: broker.close_channel(state, reason=f"{host.name} {host.stop_reason}"))
        conn = world.database.connect()
        host.on_crash(conn.close)
        gate = _StallingGate(host.gate, lambda what: before_call(host, conn, what))
        channel = Channel(broker, state, gate, timeline)
        store = Store(conn, gate, timeline, world.now)
        instance = instances[host.name] = factory(channel=channel, store=store, timeout=timeout)
        on_message = instance.on_message

        def deliver(delivery: Any) -> None:
            body = delivery.body
            if body.get("type") == "Reply":
                handling[host.name] = (body.get("saga_id"), body.get("command"))
            try:
                host.invoke(on_message, delivery)
            finally:
                handling.pop(host.name, None)
            relay_soon()

        broker.consume(state, QUEUE, deliver)

    replicas = trace.settings.get("replicas", 1)
    names = (
        ["orchestrator"] if replicas == 1 else [f"orchestrator-{n + 1}" for n in range(replicas)]
    )
    hosts = [world.host(name, start) for name in names]
    orchestrator = hosts[0]

    loops = [False]
    pending = [False]

    def busy() -> bool:
        if world.now() > horizon:
            return False
        return world.now() <= last_step or unended() or bool(broker.ready(QUEUE))

    def wake() -> None:
        """Start the ticks again, if they stopped for want of work."""
        if not loops[0]:
            loops[0] = True
            scheduler.after(TICK, tick)

    def relay_soon() -> None:
        """Relay what the orchestrator committed, RELAY_EVERY seconds after it ran."""
        if not pending[0]:
            pending[0] = True
            scheduler.after(RELAY_EVERY, relay)

    def relay() -> None:
        pending[0] = False
        rows = _read(
            world,
            "SELECT o.id, o.message_id, o.saga_id, o.command, s.state FROM outbox o "
            "LEFT JOIN sagas s ON s.saga_id = o.saga_id WHERE o.id > ? ORDER BY o.id",
            (relayed[0],),
        )
        if rows is None:
            relay_soon()
        for row_id, message_id, saga, command, state in rows or ():
            relayed[0] = row_id
            services.handle(message_id, saga, command, state)

    def unended() -> bool:
        rows = _read(world, "SELECT saga_id, state FROM sagas")
        if rows is None:
            return True
        states = dict(rows)
        return any(states.get(saga) not in ENDED for saga in services.orders)

    def tick() -> None:
        if not busy():
            loops[0] = False
            return
        for host in hosts:
            if host.running and host.name in instances and host.name not in stalled:
                host.invoke(instances[host.name].on_tick, what="on_tick()")
                relay_soon()
        scheduler.after(TICK, tick)

    services.wake = wake

    def stock(args: dict[str, Any]) -> None:
        services.stock[args["sku"]] = services.initial[args["sku"]] = args["units"]

    def order(args: dict[str, Any]) -> None:
        saga = args["saga"]
        services.orders[saga] = dict(args)
        services.initial.setdefault(args["sku"], 0)
        services.stock.setdefault(args["sku"], 0)
        body = {
            "type": "OrderPlaced",
            "saga_id": saga,
            "sku": args["sku"],
            "quantity": args["quantity"],
            "amount": args["amount"],
        }
        broker.publish(QUEUE, Message(f"order-{saga}", body, summary=f" ({saga})"))
        wake()
        timeline.record(
            world.now(),
            "desk",
            "broker",
            f"OrderPlaced {saga}: {args['quantity']} × {args['sku']}, {args['amount']:g}",
        )

    def fault(kind: str) -> Callable[[dict[str, Any]], None]:
        def mark(args: dict[str, Any]) -> None:
            services.faults.setdefault((args["saga"], args["command"]), {})[kind] = args.get(
                "by", True
            )

        return mark

    schedule_steps(
        scheduler,
        trace.steps,
        {
            "stock": stock,
            "order": order,
            "refuse": fault("refuse"),
            "silent": fault("silent"),
            "delay": fault("by"),
            "twice": fault("twice"),
            "stall": lambda args: stalls.append({**args, "done": False}),
        },
    )
    for host in hosts:
        scheduler.at(0.0, host.start, priority=1)
    scheduler.at(0.0, wake, priority=2)
    add_panels(world, lambda: _panels(services))
    notes: dict[str, Any] = {}
    try:
        world.run(max_events=5_000 + 500 * len(trace.steps))
    except BudgetExceeded as error:
        notes["budget"] = str(error)
    unsettled = [m.message_id for m in broker.ready(QUEUE) + broker.unacked(QUEUE)]
    world.stop()
    states = dict(world.database.query("SELECT saga_id, state FROM sagas"))
    notes.update(
        orders=services.orders,
        states={saga: states.get(saga) for saga in services.orders},
        initial=services.initial,
        stock=services.stock,
        reserved=services.reserved,
        charged=services.charged,
        refunded=services.refunded,
        saga_effects=services.effects,
        shipped_unpaid=services.shipped_unpaid,
        phantoms=services.phantoms,
    )
    effects: dict[str, list[int]] = {}
    for _, saga, command, step in services.effects:
        effects.setdefault(f"{saga} {command}", []).append(step)
    world.close()
    return outcome_of(
        world,
        orchestrator,
        trace,
        schedule,
        accepted={saga: saga for saga in services.orders},
        effects=effects,
        unsettled=sorted(unsettled),
        effect="done",
        notes=notes,
    )


def _panels(services: Services) -> list:
    from harness.debugger.panel import Panel

    rows = [
        (
            saga,
            services.reserved.get(saga, 0),
            f"{services.charged.get(saga, 0):g}",
            f"{services.refunded.get(saga, 0):g}",
        )
        for saga in services.orders
    ]
    stock = [(sku, services.initial.get(sku, 0), units) for sku, units in services.stock.items()]
    return [
        Panel(
            "services",
            ("saga", "reserved", "charged", "refunded"),
            rows,
            "what inventory and payments did for each saga (a release keeps its reservation)",
        ),
        Panel("stock", ("sku", "at the start", "now"), stock, "units on the shelf"),
    ]


def generate(spec: tuple[int, ...], *, units: int = 1) -> Trace:
    """A trace of ``len(spec)`` orders of one unit of ``sku-1``; order i's charge is refused
    when ``spec[i]`` is 0.

    >>> [s.action for s in generate((1, 0)).steps]
    ['stock', 'order', 'order', 'refuse']
    """
    steps = [Step(0.0, "stock", {"sku": "sku-1", "units": units})]
    for index, paid in enumerate(spec, start=1):
        saga = f"s{index}"
        args = {"saga": saga, "sku": "sku-1", "quantity": 1, "amount": 10 * index}
        steps.append(Step(0.0, "order", args))
        if not paid:
            steps.append(Step(0.0, "refuse", {"saga": saga, "command": "ChargePayment"}))
    return Trace(
        name="gen:" + ".".join(str(f) for f in spec),
        title=f"{len(spec)} generated order" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: orders for one unit, some refused payment.",
        workload=NAME,
        steps=tuple(steps),
        settings={"timeout": TIMEOUT},
    )
