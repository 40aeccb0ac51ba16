"""The store port: a component's own connection to the world's SQLite database."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from harness.faults import Gate
from harness.timeline import Timeline


class Store:
    """A DB-API style connection: ``execute`` statements, then ``commit`` (or lose them).

    What is not committed when the component crashes is rolled back by SQLite
    itself. ``transaction()`` commits on success and rolls back on an error::

        with store.transaction():
            store.execute("INSERT INTO charges VALUES (?)", (order_id,))
    """

    __slots__ = ("_conn", "_gate", "_timeline", "_now")

    def __init__(self, conn: sqlite3.Connection, gate: Gate, timeline: Timeline, now) -> None:
        self._conn = conn
        self._gate = gate
        self._timeline = timeline
        self._now = now

    def _record(self, what: str) -> None:
        self._timeline.record(self._now(), self._gate.actor, "store", what)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; return its rows (empty for statements without rows)."""
        what = " ".join(sql.split())
        if len(what) > 60:
            what = what[:57] + "..."

        def effect() -> list[tuple[Any, ...]]:
            rows = self._conn.execute(sql, tuple(params)).fetchall()
            self._record(what)
            return rows

        return self._gate.call(what, effect)

    def commit(self) -> None:
        """Make everything executed since the last commit durable, atomically."""

        def effect() -> None:
            self._conn.commit()
            self._record("commit")

        self._gate.call("commit", effect)

    def rollback(self) -> None:
        """Undo everything executed since the last commit."""

        def effect() -> None:
            self._conn.rollback()
            self._record("rollback")

        self._gate.call("rollback", effect)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """Commit when the block ends normally; roll back when it raises an Exception."""
        try:
            yield self
        except Exception:
            self.rollback()
            raise
        self.commit()
