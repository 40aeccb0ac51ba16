"""Relays as separate processes on a real database, claiming concurrently (live mode).

Here nothing is simulated but the broker: each relay is its own OS process
with its own connection, polling the same ``outbox`` table in real time. On
PostgreSQL ``FOR UPDATE SKIP LOCKED`` really decides which relay gets which
row; on SQLite (a database file in WAL mode) the writers really queue for the
one write lock. The broker is a stand-in: a ``published`` table in the same
database, where each confirmed publish is one committed row, numbered in the
order it was confirmed.

Crashes are real too: with probability ``crash_rate`` a relay process dies
(``os._exit``) right after a publish was confirmed and before its code could
mark the row sent, the one crash that makes duplicates. The parent starts a
fresh process under a new worker name in its place.

A database is named by a libpq string (``host=127.0.0.1 user=postgres
dbname=test``) or by ``sqlite:PATH``. Each relay runs as ``python -m
harness.workloads.outbox_live ARGS``; a relay that raises exits with its
traceback on stderr and a status other than :data:`CRASHED`, which
:attr:`LiveRun.failures` reports. A relay whose code is still a stub (it raises
``NotImplementedError``) exits with :data:`NOT_DONE` instead, and says only which
TODO and where: :attr:`LiveRun.not_done`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import NotDone
from harness.ports.sql_store import PgStore, SqliteStore, for_postgresql
from harness.timeline import Timeline
from harness.workloads.outbox_world import LOCK_TIMEOUT, POSTGRES_SCHEMA, SQLITE_SCHEMA, body_of

CRASHED = 17
"""The exit status of a relay process killed by an injected crash."""
NOT_DONE = 18
"""The exit status of a relay process whose code raised NotImplementedError: a stub's TODO."""
PUBLISHED = {
    "sqlite": "CREATE TABLE published (n INTEGER PRIMARY KEY AUTOINCREMENT, "
    "message_id TEXT NOT NULL, body TEXT NOT NULL, worker TEXT NOT NULL, at REAL NOT NULL)",
    "postgresql": "CREATE TABLE published (n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "message_id TEXT NOT NULL, body TEXT NOT NULL, worker TEXT NOT NULL, "
    "at DOUBLE PRECISION NOT NULL)",
}
READY = "CREATE TABLE ready (worker TEXT NOT NULL)"
"""Where the first relay processes say they are ready, so that they start polling together."""


class LiveGate:
    """The gate of a live relay: no crash points, the calls just happen."""

    __slots__ = ("actor",)

    def __init__(self, actor: str) -> None:
        self.actor = actor

    def call(self, what: str, effect: Callable[[], Any]) -> Any:
        return effect()


class NullTimeline(Timeline):
    """A timeline that keeps nothing (a live run is judged on its tables, not its story)."""

    def record(self, time: float, actor: str, target: str, what: str) -> None:
        pass


class Database:
    """One live database: SQLite (``sqlite:PATH``) or a schema on a PostgreSQL server."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.dsn = dsn
        self.schema = schema
        self.dialect = "sqlite" if dsn.startswith("sqlite:") else "postgresql"

    def connect(self, *, autocommit: bool = False):
        """A connection with the kit's settings (lock timeout, or busy timeout and WAL)."""
        if self.dialect == "sqlite":
            conn = sqlite3.connect(self.dsn[len("sqlite:") :], timeout=30)
            conn.execute("PRAGMA journal_mode = WAL")
            if autocommit:
                conn.isolation_level = None
            return conn
        import psycopg

        conn = psycopg.connect(self.dsn, autocommit=autocommit)
        conn.execute(f"SET search_path TO {self.schema}")
        conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        if not autocommit:
            conn.commit()
        return conn

    def store(self, worker: str):
        """The store port a live relay gets: the same one as in a world, without crash points."""
        kind = SqliteStore if self.dialect == "sqlite" else PgStore
        return kind(self.connect(), LiveGate(worker), NullTimeline(), time.time)

    def execute(self, conn, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` (``?`` placeholders) on an autocommit connection; return its rows."""
        if self.dialect == "postgresql":
            sql = for_postgresql(sql)
        cursor = conn.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []


class TablePublisher:
    """A broker stand-in: a publish is confirmed once its row is committed in ``published``."""

    def __init__(self, db: Database, worker: str, crash: Callable[[], bool]) -> None:
        self._db = db
        self._conn = db.connect(autocommit=True)
        self._worker = worker
        self._crash = crash

    def publish(
        self,
        queue: str,
        body: Mapping[str, Any],
        *,
        message_id: str,
        headers: Mapping[str, Any] | None = None,
    ) -> None:
        self._db.execute(
            self._conn,
            "INSERT INTO published (message_id, body, worker, at) VALUES (?, ?, ?, ?)",
            (message_id, json.dumps(dict(body), sort_keys=True), self._worker, time.time()),
        )
        if self._crash():
            os._exit(CRASHED)  # after the confirm, before the relay can mark the row sent


def _load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(f"_twm_live_{os.getpid()}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def relay_process(
    dsn: str,
    schema: str,
    path: str,
    name: str,
    worker: str,
    lease: float,
    crash_rate: float,
    seed: int,
    deadline: float,
    together: int = 0,
) -> None:
    """One relay process: poll until the outbox is drained or ``deadline`` (time.time()) passes.

    With ``together`` > 0 it first waits until that many relays are ready (the
    first incarnations), so that they claim at the same time instead of one
    draining the outbox while the others still start up.
    """
    luck = random.Random(seed)
    db = Database(dsn, schema)
    publisher = TablePublisher(db, worker, lambda: luck.random() < crash_rate)
    relay = _load(path, name)(
        store=db.store(worker), publisher=publisher, worker=worker, lease=lease
    )
    watch = db.connect(autocommit=True)
    if together:
        db.execute(watch, "INSERT INTO ready (worker) VALUES (?)", (worker,))
        while time.time() < deadline:
            if db.execute(watch, "SELECT count(*) FROM ready")[0][0] >= together:
                break
            time.sleep(0.002)
    while time.time() < deadline:
        relay.poll_once()
        if not db.execute(watch, "SELECT 1 FROM outbox WHERE sent_at IS NULL LIMIT 1"):
            return
        time.sleep(0.001)


@dataclass
class LiveRun:
    """What a live run left: the events written and every confirmed publish, in order."""

    events: dict[str, str] = field(default_factory=dict)
    """message id → ``ORDER#SEQ``."""
    published: list[tuple[int, str, str, str]] = field(default_factory=list)
    """``(confirm number, message id, ORDER#SEQ from the body, worker)``."""
    unsent: list[str] = field(default_factory=list)
    crashes: int = 0
    seconds: float = 0.0
    """Wall seconds from the first confirmed publish to the last one (process start-up excluded)."""
    failures: list[str] = field(default_factory=list)
    """Relay processes that died of something else than an injected crash."""
    not_done: NotDone | None = None
    """The TODO the first relay process still to be written met, and where (its location)."""

    @property
    def rate(self) -> float:
        """Events relayed per wall second (first publishes over the publishing time)."""
        return len(self.events) / self.seconds if self.seconds > 0 else 0.0

    @property
    def duplicates(self) -> int:
        """Publishes beyond the first of each event."""
        return len(self.published) - len({key for _, _, key, _ in self.published})


def run_relays(
    dsn: str,
    path: str,
    name: str,
    *,
    events: int,
    orders: int = 10,
    relays: int = 4,
    lease: float = 1.0,
    crash_rate: float = 0.0,
    seed: int = 0,
    timeout: float = 120.0,
) -> LiveRun:
    """Write ``events`` rows of ``orders`` orders, then let ``relays`` processes drain them.

    ``dsn`` is a libpq string, or ``sqlite:`` alone for a fresh SQLite file.
    Returns what happened; the schema (or file) is removed at the end.
    """
    folder = None
    if dsn == "sqlite:":
        folder = tempfile.TemporaryDirectory()
        dsn = f"sqlite:{folder.name}/outbox.db"
    db = Database(dsn, f"twm_live_{os.getpid()}_{seed}_{relays}")
    admin = _prepare(db)
    run = LiveRun()
    luck = random.Random(seed)
    seqs: dict[str, int] = {}
    for index in range(events):
        order = f"o-{luck.randrange(orders) + 1}"
        seqs[order] = seqs.get(order, 0) + 1
        message_id = f"e-{seed}-{index}-{luck.randrange(10**6)}"
        run.events[message_id] = f"{order}#{seqs[order]}"
        db.execute(
            admin,
            "INSERT INTO outbox (message_id, order_id, body, created_at) VALUES (?, ?, ?, ?)",
            (message_id, order, body_of(order, seqs[order], "OrderPlaced"), time.time()),
        )
    deadline = time.time() + timeout
    incarnations = {k: 1 for k in range(1, relays + 1)}

    def spawn(k: int) -> subprocess.Popen:
        worker = f"relay-{k}.{incarnations[k]}"
        luck = seed * 1000 + k * 100 + incarnations[k]
        together = relays if incarnations[k] == 1 else 0
        args = [db.dsn, db.schema, str(path), name, worker, lease, crash_rate, luck, deadline]
        args.append(together)
        command = [sys.executable, "-m", "harness.workloads.outbox_live", json.dumps(args)]
        errors[k] = tempfile.TemporaryFile()
        return subprocess.Popen(command, stderr=errors[k])

    errors: dict[int, Any] = {}
    running = {k: spawn(k) for k in incarnations}
    while running:
        time.sleep(0.005)
        for k, process in list(running.items()):
            code = process.poll()
            if code is None:
                continue
            del running[k]
            worker = f"relay-{k}.{incarnations[k]}"
            said = _said(errors.pop(k), echo=code != NOT_DONE)
            if code == CRASHED and time.time() < deadline:
                run.crashes += 1
                incarnations[k] += 1
                running[k] = spawn(k)
            elif code == NOT_DONE:
                run.failures.append(f"{worker} met a TODO")
                run.not_done = run.not_done or _not_done(said, worker)
            elif code != 0:
                run.failures.append(f"{worker} exited with status {code}")
    confirmed = db.execute(
        admin, "SELECT n, message_id, body, worker, at FROM published ORDER BY n"
    )
    if confirmed:
        run.seconds = max(row[4] for row in confirmed) - min(row[4] for row in confirmed)
    for n, message_id, body, worker, _ in confirmed:
        decoded = json.loads(body)
        key = f"{decoded.get('order_id')}#{decoded.get('seq')}"
        run.published.append((n, message_id, key, worker))
    unsent = db.execute(admin, "SELECT message_id FROM outbox WHERE sent_at IS NULL")
    run.unsent = [run.events[row[0]] for row in unsent]
    if db.dialect == "postgresql":
        admin.execute(f"DROP SCHEMA IF EXISTS {db.schema} CASCADE")
    admin.close()
    if folder is not None:
        folder.cleanup()
    return run


def _said(stderr: Any, *, echo: bool) -> str:
    """What a relay process wrote on its stderr, passed on to ours unless ``echo`` is false."""
    stderr.seek(0)
    text = stderr.read().decode("utf-8", errors="backslashreplace")
    stderr.close()
    if echo and text:
        sys.stderr.write(text)
        sys.stderr.flush()
    return text


def _not_done(said: str, worker: str) -> NotDone:
    """The TODO a relay process reported on its last line of stderr (see :func:`_main`)."""
    lines = said.strip().splitlines()
    try:
        facts = json.loads(lines[-1])
    except (IndexError, ValueError):
        facts = {}
    error = NotDone(NotImplementedError(facts.get("todo", "")), f"poll_once() of {worker}")
    error.location = facts.get("where")
    return error


def _main(arguments: str) -> None:
    """A relay process (``python -m harness.workloads.outbox_live ARGS``): a stub's
    NotImplementedError ends it with :data:`NOT_DONE` and one line saying which TODO, where."""
    args = json.loads(arguments)
    try:
        relay_process(*args)
    except NotImplementedError as error:
        from pathlib import Path

        from harness.report import location_of

        where = location_of(error, [Path(args[2]).parent])
        sys.stderr.write(json.dumps({"todo": str(error), "where": where}) + "\n")
        sys.stderr.flush()
        raise SystemExit(NOT_DONE) from None


def _prepare(db: Database):
    """Create the tables (in a fresh schema on PostgreSQL); return an autocommit connection."""
    admin = db.connect(autocommit=True)
    if db.dialect == "postgresql":
        admin.execute(f"DROP SCHEMA IF EXISTS {db.schema} CASCADE")
        admin.execute(f"CREATE SCHEMA {db.schema}")
        admin.execute(f"SET search_path TO {db.schema}")
    for statement in (*(SQLITE_SCHEMA if db.dialect == "sqlite" else POSTGRES_SCHEMA),):
        admin.execute(statement)
    admin.execute(PUBLISHED[db.dialect])
    admin.execute(READY)
    return admin


def outcome_notes(run: LiveRun) -> dict[str, Any]:
    """The run as the outbox checkers read it (``notes["outbox"]`` of an Outcome)."""
    return {
        "committed": {key: message_id for message_id, key in run.events.items()},
        "published": [
            (-1, message_id, key, worker) for _, message_id, key, worker in run.published
        ],
        "unsent": sorted(run.unsent),
    }


if __name__ == "__main__":
    _main(sys.argv[1])
