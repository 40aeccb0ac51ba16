"""The world's durable store: a real SQLite database (stdlib ``sqlite3``).

Each world gets its own shared-cache in-memory database, kept alive by one
*keeper* connection that the harness uses to read results. Every component
gets its own connection; when the component crashes, its connection is
closed, and SQLite rolls back whatever it had not committed, while what it
committed survives. That is a real transaction, not a model of one.

>>> db = Database()
>>> conn = db.connect()
>>> _ = conn.execute("CREATE TABLE t (x)"); conn.commit()
>>> _ = conn.execute("INSERT INTO t VALUES (1)")
>>> conn.close()                       # a crash before commit
>>> db.query("SELECT count(*) FROM t")
[(0,)]
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from typing import Any

_names = itertools.count()


class Database:
    """One world's SQLite database."""

    def __init__(self) -> None:
        self.uri = f"file:twm-{os.getpid()}-{next(_names)}?mode=memory&cache=shared"
        self._keeper = sqlite3.connect(self.uri, uri=True, isolation_level=None)
        self._connections: list[sqlite3.Connection] = []

    def connect(self) -> sqlite3.Connection:
        """A new connection for a component (DB-API transactions: commit or lose it)."""
        conn = sqlite3.connect(self.uri, uri=True)
        self._connections.append(conn)
        return conn

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read committed data through the keeper connection (for checkers)."""
        return self._keeper.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close every connection; the database is gone with the keeper."""
        for conn in self._connections:
            conn.close()
        self._keeper.close()
