"""The store: a real SQLite database per world, and the Store port over a component's connection."""

from __future__ import annotations

import sqlite3

import pytest

from harness.database import Database
from harness.faults import Crash, CrashPoint, Gate
from harness.ports import Store
from harness.timeline import Timeline
from harness.world import Component, World


@pytest.fixture
def db():
    database = Database()
    database.query("CREATE TABLE charges (order_id TEXT PRIMARY KEY)")
    yield database
    database.close()


def make_store(db: Database, crashes: tuple[CrashPoint, ...] = ()) -> tuple[Store, object]:
    conn = db.connect()
    return Store(conn, Gate("consumer", crashes, lambda where: None), Timeline(), lambda: 0.0), conn


def charged(db: Database) -> list[str]:
    return [row[0] for row in db.query("SELECT order_id FROM charges ORDER BY order_id")]


def test_committed_rows_survive_closing_the_connection(db):
    """What a component committed is still there after its connection closes."""
    store, conn = make_store(db)
    store.execute("INSERT INTO charges VALUES (?)", ("o-1",))
    store.commit()
    conn.close()
    assert charged(db) == ["o-1"]


def test_uncommitted_rows_are_rolled_back_when_the_connection_closes(db):
    """A crash (the connection closes) rolls back what was executed and not committed."""
    store, conn = make_store(db)
    store.execute("INSERT INTO charges VALUES (?)", ("o-1",))
    store.commit()
    store.execute("INSERT INTO charges VALUES (?)", ("o-2",))
    conn.close()
    assert charged(db) == ["o-1"]


def test_execute_returns_rows_and_rollback_undoes():
    """execute returns the statement's rows; rollback undoes everything since the last commit."""
    database = Database()
    store, _ = make_store(database)
    store.execute("CREATE TABLE t (x)")
    store.execute("INSERT INTO t VALUES (1)")
    store.commit()
    store.execute("INSERT INTO t VALUES (2)")
    assert store.execute("SELECT x FROM t ORDER BY x") == [(1,), (2,)]
    store.rollback()
    assert store.execute("SELECT x FROM t") == [(1,)]
    database.close()


def test_transaction_commits_when_the_block_ends_normally(db):
    """transaction() commits on success: the row survives the connection closing."""
    store, conn = make_store(db)
    with store.transaction() as same:
        assert same is store
        store.execute("INSERT INTO charges VALUES (?)", ("o-1",))
    conn.close()
    assert charged(db) == ["o-1"]


def test_transaction_rolls_back_on_an_exception_and_lets_it_through(db):
    """transaction() rolls back when the block raises an Exception, and re-raises it."""
    store, conn = make_store(db)
    with pytest.raises(KeyError):
        with store.transaction():
            store.execute("INSERT INTO charges VALUES (?)", ("o-1",))
            raise KeyError("boom")
    assert store.execute("SELECT count(*) FROM charges") == [(0,)]
    conn.close()
    assert charged(db) == []


def test_a_failing_statement_in_a_transaction_rolls_back_the_earlier_ones(db):
    """A statement that fails (duplicate key) undoes the whole transaction, not only itself."""
    store, conn = make_store(db)
    with store.transaction():
        store.execute("INSERT INTO charges VALUES (?)", ("o-1",))
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction():
            store.execute("INSERT INTO charges VALUES (?)", ("o-2",))
            store.execute("INSERT INTO charges VALUES (?)", ("o-1",))
    conn.close()
    assert charged(db) == ["o-1"]


@pytest.mark.parametrize(("when", "expected"), [("before", []), ("after", ["o-1"])])
def test_a_crash_at_commit_keeps_or_loses_the_transaction(db, when, expected):
    """A crash just before commit loses the rows; just after commit keeps them."""
    store, conn = make_store(db, crashes=(CrashPoint(2, when),))
    with pytest.raises(Crash):
        with store.transaction():
            store.execute("INSERT INTO charges VALUES (?)", ("o-1",))
    conn.close()  # what the world does when a component dies
    assert charged(db) == expected


def test_a_crashed_component_loses_its_uncommitted_work_in_a_world():
    """In a world, a component's crash closes its connection: committed stays, the rest goes."""
    world = World(seed=0, crashes=(CrashPoint(5, "before"),))
    world.database.query("CREATE TABLE charges (order_id TEXT)")

    def start(host: Component) -> None:
        conn = world.database.connect()
        host.on_crash(conn.close)
        store = Store(conn, host.gate, world.timeline, world.now)
        store.execute("INSERT INTO charges VALUES ('o-1')")  # call 1
        store.commit()  # call 2
        store.execute("INSERT INTO charges VALUES ('o-2')")  # call 3
        store.execute("INSERT INTO charges VALUES ('o-3')")  # call 4
        store.commit()  # call 5: the crash strikes before it

    component = world.host("consumer", start)
    component.start()
    assert component.crashes == 1 and not component.running
    assert world.database.query("SELECT order_id FROM charges") == [("o-1",)]
    world.close()


def test_two_worlds_never_share_their_databases():
    """Each world has its own database: a table or row in one is invisible in the other."""
    first, second = World(seed=0), World(seed=0)
    assert first.database.uri != second.database.uri
    first.database.query("CREATE TABLE t (x)")
    first.database.query("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        second.database.query("SELECT x FROM t")
    second.database.query("CREATE TABLE t (x)")
    assert second.database.query("SELECT x FROM t") == []
    assert first.database.query("SELECT x FROM t") == [(1,)]
    first.close()
    second.close()
