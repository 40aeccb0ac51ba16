"""What the outbox workloads share: the schema, the database backends, interleaving, the outcome.

The outbox chapter's world holds a real database (SQLite by default, or a
PostgreSQL server in live runs) with two tables, ``orders`` and ``outbox``
(:data:`SQLITE_SCHEMA`, :data:`POSTGRES_SCHEMA`), and the queue broker.

**Interleaving without threads.** Several relays in one world take turns at
their port calls: when a trace says ``stall = { relay = "relay-1", call = 3,
seconds = 0.2 }``, relay-1 stops just before its call 3 while the world goes
on for 0.2 virtual seconds (the other relays poll, leases expire), then
relay-1 goes on as if nothing happened. A relay never stalls inside one of its
own transactions: the stall waits for the end of that transaction. That is how
SQLite behaves (one writer at a time: the others wait for its commit), and it
keeps a single-threaded interleaving from waiting on a row lock forever on
PostgreSQL (where every connection also gets a ``lock_timeout``).

**Time.** Learner code reads ``time.time()``; in a world it shows the virtual
clock (:data:`harness.clock.EPOCH` + virtual seconds), and so do the times
the harness writes (``created_at``, ``sent_at``): see :func:`wall`.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from harness.errors import LearnerError
from harness.faults import Gate
from harness.ports.sql_store import PgStore, SqliteStore
from harness.world import Component, World

QUEUE = "order-events"
"""The queue every outbox event is published to."""

SQLITE_SCHEMA = (
    """CREATE TABLE orders (
        order_id TEXT PRIMARY KEY,
        amount REAL NOT NULL CHECK (amount > 0)
    )""",
    """CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL UNIQUE,
        order_id TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at REAL NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        available_at REAL NOT NULL DEFAULT 0,
        claimed_by TEXT,
        claimed_until REAL,
        sent_at REAL
    )""",
    "CREATE INDEX outbox_by_order ON outbox (order_id, id)",
)
POSTGRES_SCHEMA = (
    """CREATE TABLE orders (
        order_id TEXT PRIMARY KEY,
        amount DOUBLE PRECISION NOT NULL CHECK (amount > 0)
    )""",
    """CREATE TABLE outbox (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_id TEXT NOT NULL UNIQUE,
        order_id TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        available_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        claimed_by TEXT,
        claimed_until DOUBLE PRECISION,
        sent_at DOUBLE PRECISION
    )""",
    "CREATE INDEX outbox_by_order ON outbox (order_id, id)",
)

LOCK_TIMEOUT = "2s"
"""PostgreSQL's ``lock_timeout`` on every connection: no interleaving can wait forever."""


def wall(world: World) -> float:
    """What ``time.time()`` shows learner code at the world's current time (virtual, or real in
    a live world)."""
    return world.epoch + world.now()


def body_of(order: str, seq: int, kind: str) -> str:
    """The JSON body of the ``seq``-th event of ``order`` (what the relay publishes as is)."""
    return json.dumps({"type": kind, "order_id": order, "seq": seq}, sort_keys=True)


# -- the database: SQLite (default) or PostgreSQL ------------------------------------------------


class SqliteBackend:
    """The world's own SQLite database (a shared-cache in-memory one per world)."""

    name = "sqlite"

    def __init__(self, world: World) -> None:
        self._db = world.database
        for statement in SQLITE_SCHEMA:
            self._db.query(statement)

    def store(self, host: Component, gate: Any) -> SqliteStore:
        conn = self._db.connect()
        host.on_crash(conn.close)  # closing rolls back what was not committed
        return SqliteStore(conn, gate, host.world.timeline, host.world.now)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` and commit at once (the harness's own reads and writes)."""
        return self._db.query(sql, params)

    def close(self) -> None:
        """The world closes its database itself."""


class PostgresBackend:
    """A fresh schema on a PostgreSQL server for one run; dropped when the run ends.

    ``dsn`` is a libpq connection string (``host=127.0.0.1 user=postgres dbname=test``).
    """

    name = "postgresql"
    _serial = itertools.count()

    def __init__(self, dsn: str) -> None:
        import psycopg  # lazy: only live runs need it

        self._psycopg = psycopg
        self.dsn = dsn
        self.schema = f"twm_outbox_{os.getpid()}_{next(self._serial)}"
        self._keeper = psycopg.connect(dsn, autocommit=True)
        self._keeper.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self._keeper.execute(f"CREATE SCHEMA {self.schema}")
        self._keeper.execute(f"SET search_path TO {self.schema}")
        for statement in POSTGRES_SCHEMA:
            self._keeper.execute(statement)

    def connect(self):
        """A new connection into this run's schema, with a lock timeout."""
        conn = self._psycopg.connect(self.dsn)
        conn.execute(f"SET search_path TO {self.schema}")
        conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        conn.commit()
        return conn

    def store(self, host: Component, gate: Any) -> PgStore:
        conn = self.connect()
        host.on_crash(conn.close)  # the server rolls back what was not committed
        return PgStore(conn, gate, host.world.timeline, host.world.now)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cursor = self._keeper.execute(sql.replace("?", "%s"), params)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def close(self) -> None:
        self._keeper.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self._keeper.close()


Backend = Callable[[World], Any]
"""Builds a run's database for a world: ``SqliteBackend`` (default) or a PostgreSQL one."""


def world_backend(world: World) -> Any:
    """The database of a run in ``world``: its SQLite one on the simulator; on real servers
    (live mode), a fresh schema on their PostgreSQL (:meth:`harness.live.servers.Live.store`)."""
    if world.servers is None:
        return SqliteBackend(world)
    return PostgresBackend(world.servers.postgres())


def require_closed(host: Component, store: Any, what: str) -> None:
    """Fail, naming the call, when learner code returned with its transaction still open.

    Other connections (the other relays, the order desk) would wait on it forever.
    """
    if host.running and store.in_transaction:
        error = RuntimeError(
            f"{what} returned with a transaction still open: commit (or roll back) before "
            "you return, or every other connection to the outbox waits for you"
        )
        raise LearnerError(error, what, host.world.timeline)


# -- interleaving ----------------------------------------------------------------------------------


class Stalls:
    """Where relays stall, and the world going on meanwhile (see the module's docstring)."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._plan: list[tuple[str, int, float]] = []
        self._done: set[int] = set()
        self.count = 0

    def arm(self, relay: str, call: int, seconds: float) -> None:
        """From now on, ``relay`` stalls ``seconds`` before its call ``call`` (or the next one)."""
        self._plan.append((relay, call, seconds))

    def gate(self, host: Component, in_transaction: Callable[[], bool]) -> StallingGate:
        return StallingGate(host.gate, lambda: self._before_call(host, in_transaction))

    def _before_call(self, host: Component, in_transaction: Callable[[], bool]) -> None:
        upcoming = host.gate.calls + 1
        for index, (relay, call, seconds) in enumerate(self._plan):
            if index in self._done or relay != host.name or upcoming < call:
                continue
            if in_transaction():
                return  # one writer at a time: the stall waits for the commit
            self._done.add(index)
            self.count += 1
            world = self._world
            until = world.now() + seconds
            world.timeline.record(
                world.now(), "harness", host.name, f"stall {seconds:g} s before call {upcoming}"
            )
            world.scheduler.run(until=until, max_events=100_000)
            world.clock.advance_to(until)
            world.timeline.record(world.now(), "harness", host.name, "resume")


class StallingGate:
    """A component's gate, with a stall point in front of every call."""

    __slots__ = ("_gate", "_before")

    def __init__(self, gate: Gate, before: Callable[[], None]) -> None:
        self._gate = gate
        self._before = before

    @property
    def actor(self) -> str:
        return self._gate.actor

    def call(self, what: str, effect: Callable[[], Any]) -> Any:
        if not self._gate.dead:
            self._before()
        result = self._gate.call(what, effect)
        # A stall held back by a transaction falls as soon as the transaction ends.
        self._before()
        return result


# -- the outcome -----------------------------------------------------------------------------------


class Published:
    """What the broker confirmed, in order: ``(timeline step, message id, event key, actor)``.

    An event's key is ``ORDER#SEQ`` read from the published body; a body that
    names no event gets the key ``?MESSAGE_ID`` (it matches nothing committed).
    """

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str, str]] = []

    def confirmer(self, actor: str, key_of: Callable[[Mapping[str, Any]], str | None]):
        """The ``on_confirm`` callback of ``actor``'s publisher port."""

        def confirm(message: Any, step: int) -> None:
            key = key_of(message.body) or f"?{message.message_id}"
            self.rows.append((step, message.message_id, key, actor))

        return confirm


def event_key(body: Mapping[str, Any]) -> str | None:
    """``ORDER#SEQ`` of an event body, or None when it names no event."""
    order, seq = body.get("order_id"), body.get("seq")
    return None if order is None or seq is None else f"{order}#{seq}"


def outbox_notes(
    *,
    committed: Mapping[str, str | None],
    published: Published,
    unsent: list[str] = (),
    written: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The plain-data summary of a run that the outbox checkers read (``notes["outbox"]``).

    ``committed``: event key → its message id (None when any id will do);
    ``unsent``: keys still not marked sent at the end; ``written``: key → the
    timeline step where its transaction committed.
    """
    return {
        "committed": dict(committed),
        "published": list(published.rows),
        "unsent": sorted(unsent),
        "written": dict(written or {}),
    }
