"""The world: one clock, one scheduler, one timeline, the servers, and the components in it.

A :class:`World` owns everything a run touches: the broker, the log, the
database, the payment gateway. Learner code lives in it as a hosted
:class:`Component`: the world starts it with its ports, runs its callbacks,
and, when a crash point strikes, discards its memory, closes its connections
(the broker requeues its unacked deliveries, SQLite rolls back what it had not
committed) and starts a fresh instance after a restart delay.

A world runs on the simulator (virtual time, the simulated broker) unless it is
made inside :func:`on_servers`: then its clock, its loop and its broker come
from real servers (:mod:`harness.live`: RabbitMQ through pika, in real time),
and nothing else about it changes. The workloads never know which.

>>> world = World(seed=1)
>>> world.clock.now, world.servers is None
(0.0, True)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol

from harness.broker import Broker
from harness.clock import EPOCH, VirtualClock
from harness.database import Database
from harness.errors import LearnerError, NotDone
from harness.faults import CALL_LIMIT, Crash, CrashPoint, Gate, RunawayLoop
from harness.gateway import PaymentGateway
from harness.log import Log
from harness.scheduler import Scheduler
from harness.timeline import Timeline

RESTART_DELAY = 0.010
"""Virtual seconds between a component's crash and its fresh start."""


class Servers(Protocol):
    """Real servers a world can run on instead of the simulator (see :mod:`harness.live`)."""

    def open(self, world: World) -> tuple[Any, Any, Any]:
        """The ``(clock, scheduler, broker)`` of a new ``world``: a real-time loop and broker."""

    def close(self, world: World) -> None:
        """Close what :meth:`open` opened for ``world`` (connections, queues); twice is harmless."""


_SERVERS: ContextVar[Servers | None] = ContextVar("twm_servers", default=None)


@contextlib.contextmanager
def on_servers(servers: Servers) -> Iterator[Servers]:
    """Make every world built inside this block run on ``servers`` (live mode)."""
    token = _SERVERS.set(servers)
    try:
        yield servers
    finally:
        _SERVERS.reset(token)


class World:
    """Everything one run touches; a pure function of its seed and schedule."""

    def __init__(
        self,
        *,
        seed: int,
        crashes: tuple[CrashPoint, ...] = (),
        freezer: object = None,
        call_limit: int = CALL_LIMIT,
    ) -> None:
        self.seed = seed
        self.crashes = crashes
        self.call_limit = call_limit
        self.timeline = Timeline()
        self.servers = _SERVERS.get()
        """The real servers this world runs on (:func:`on_servers`), or None: the simulator."""
        if self.servers is None:
            self.clock = VirtualClock(freezer)
            self.scheduler = Scheduler(self.clock, seed=seed)
            self.broker = Broker(self.scheduler, self.timeline)
        else:
            self.clock, self.scheduler, self.broker = self.servers.open(self)
        self.log = Log()
        self.gateway = PaymentGateway(self.timeline, now=self.now)
        self.components: list[Component] = []
        self._database: Database | None = None

    def now(self) -> float:
        return self.clock.now

    @property
    def epoch(self) -> float:
        """What ``time.time()`` reads at the world's time 0: :data:`harness.clock.EPOCH` on the
        simulator, the wall clock when a live world began."""
        return getattr(self.clock, "epoch", EPOCH.timestamp())

    @property
    def database(self) -> Database:
        """The world's SQLite database, created on first use."""
        if self._database is None:
            self._database = Database()
        return self._database

    def host(
        self,
        name: str,
        start: Callable[[Component], None],
        *,
        under_test: bool = True,
        restart_delay: float = RESTART_DELAY,
    ) -> Component:
        """Host a component; ``start(component)`` opens its ports and builds its instance.

        The schedule's crash points strike the components ``under_test``; a crash
        point that names a component (``relay-2:4a``) strikes that component only.
        """
        component = Component(self, name, start, under_test, restart_delay)
        self.components.append(component)
        return component

    def run(self, *, max_events: int) -> None:
        """Run until nothing is left to do (or the event budget is spent)."""
        self.scheduler.run(max_events=max_events)

    def stop(self) -> None:
        """End the run: every component stops as if crashed (uncommitted work is rolled back)."""
        for component in self.components:
            component.shutdown()

    def close(self) -> None:
        """Close the database and, on real servers, the world's connections and queues."""
        if self._database is not None:
            self._database.close()
        if self.servers is not None:
            self.servers.close(self)


class Component:
    """One learner component hosted in a world: its gate, its incarnations, its callbacks."""

    def __init__(
        self,
        world: World,
        name: str,
        start: Callable[[Component], None],
        under_test: bool,
        restart_delay: float,
    ) -> None:
        self.world = world
        self.name = name
        self._start = start
        self.restart_delay = restart_delay
        # A crash point naming this component strikes it; one naming no actor strikes
        # every component under test.
        crashes = tuple(
            c for c in world.crashes if (c.actor == name) or (not c.actor and under_test)
        )
        self.gate = Gate(name, crashes, self._crashed, limit=world.call_limit)
        self.incarnation = 0
        self.crashes = 0
        self.swallowed = 0
        self._closers: list[Callable[[], None]] = []
        self.stop_reason = ""
        """Why the last incarnation ended ("crashed" or "stopped at the end of the run")."""
        self.running = False

    def start(self) -> None:
        """Start a fresh incarnation: new ports, new instance, no memory of the last one."""
        self.incarnation += 1
        self.gate.revive()
        self.running = True
        self.world.timeline.record(
            self.world.clock.now,
            "harness",
            self.name,
            "start" if self.incarnation == 1 else f"restart (incarnation {self.incarnation})",
        )
        self.invoke(self._start, self, what=f"the constructor of {self.name}")

    def on_crash(self, closer: Callable[[], None]) -> None:
        """Register what closes one of this incarnation's connections when it ends.

        It runs when the incarnation crashes and when the run ends;
        :attr:`stop_reason` says which.
        """
        self._closers.append(closer)

    def invoke(self, fn: Callable[..., Any], *args: Any, what: str | None = None) -> Any:
        """Run learner code ``fn(*args)`` under the world's rules.

        - a :class:`Crash` ends this incarnation and schedules a restart;
        - returning normally after a crash struck means the crash was caught:
          *swallowed*; the incarnation is ended all the same;
        - NotImplementedError becomes :class:`NotDone`; any other exception
          becomes :class:`LearnerError` (with the learner's traceback).

        ``what`` names the call for people (default: the function's name).
        """
        if not self.running:
            return None
        try:
            result = fn(*args)
        except Crash:
            if self.gate.swallowed:
                self._swallowed()
            self._end_incarnation(restart=True)
            return None
        except NotImplementedError as error:
            raise NotDone(error, what or _name_of(fn)) from error
        except (Exception, SystemExit, RunawayLoop) as error:
            raise LearnerError(error, what or _name_of(fn), self.world.timeline) from error
        if self.gate.dead:
            self._swallowed()
            self._end_incarnation(restart=True)
            return None
        return result

    def _swallowed(self) -> None:
        self.swallowed += 1
        self.world.timeline.crash(
            self.world.clock.now, self.name, "caught the crash and went on (swallowed)"
        )

    def _crashed(self, where: str) -> None:
        self.crashes += 1
        self.world.timeline.crash(self.world.clock.now, self.name, where)

    def _end_incarnation(self, *, restart: bool) -> None:
        if not self.running:
            return
        self.running = False
        self.stop_reason = "crashed" if restart else "stopped at the end of the run"
        closers, self._closers = self._closers, []
        for closer in closers:
            closer()
        if restart:
            self.world.scheduler.after(self.restart_delay, self.start)

    def shutdown(self) -> None:
        """Stop for good (end of run)."""
        self._end_incarnation(restart=False)


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)
