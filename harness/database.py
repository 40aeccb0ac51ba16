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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.debugger.panel import Panel

_names = itertools.count()


class Database:
    """One world's SQLite database."""

    def __init__(self) -> None:
        self.uri = f"file:twm-{os.getpid()}-{next(_names)}?mode=memory&cache=shared"
        self._keeper = sqlite3.connect(self.uri, uri=True, isolation_level=None)
        self._connections: list[sqlite3.Connection] = []
        self._peeker: sqlite3.Connection | None = None

    def connect(self) -> sqlite3.Connection:
        """A new connection for a component (DB-API transactions: commit or lose it)."""
        conn = sqlite3.connect(self.uri, uri=True)
        self._connections.append(conn)
        return conn

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read committed data through the keeper connection (for checkers)."""
        return self._keeper.execute(sql, params).fetchall()

    def snapshot(self, *, most_rows: int = 50) -> list[Panel]:
        """Every table's rows as one panel each: its first ``most_rows`` rows, as SQLite reads them.

        What a panel shows is committed, so it survives a crash; while a component's open
        transaction is writing a table, that table is read with its uncommitted writes, and
        its note says so (a crash now would roll them back). It only reads (the debugger
        calls it after each step of an observed run). Tables whose names start with ``_twm_``
        are the harness's own records and are left out.
        """
        from harness.debugger.panel import Panel

        try:
            names = [
                name
                for (name,) in self._read(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_twm\\_%' ESCAPE '\\' "
                    "ORDER BY name"
                )[1]
            ]
        except sqlite3.Error:
            return []
        panels = []
        for name in names:
            quoted = '"' + name.replace('"', '""') + '"'
            try:
                (columns, rows), pending = self._read_table(f"SELECT * FROM {quoted}", most_rows)
            except sqlite3.Error as error:
                panels.append(Panel(f"table {name}", ("",), (), f"could not be read: {error}"))
                continue
            notes = []
            if len(rows) > most_rows:
                notes.append(f"the first {most_rows} rows of more")
                rows = rows[:most_rows]
            if pending:
                notes.append("an open transaction is writing it: uncommitted rows included")
            if not rows:
                notes.append("no rows")
            panels.append(Panel(f"table {name}", columns, rows, "; ".join(notes)))
        return panels

    def _read(self, sql: str, limit: int = -1) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        cursor = self._keeper.execute(sql)
        columns = tuple(d[0] for d in cursor.description or ())
        return columns, cursor.fetchmany(limit + 1) if limit >= 0 else cursor.fetchall()

    def _read_table(self, sql: str, limit: int) -> tuple[tuple[Any, list[Any]], bool]:
        """The rows as committed; where a writer holds the table, with its uncommitted rows."""
        try:
            return self._read(sql, limit), False
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
        if self._peeker is None:
            self._peeker = sqlite3.connect(self.uri, uri=True, isolation_level=None)
            self._peeker.execute("PRAGMA read_uncommitted = 1")
            self._connections.append(self._peeker)
        cursor = self._peeker.execute(sql)
        columns = tuple(d[0] for d in cursor.description or ())
        return (columns, cursor.fetchmany(limit + 1)), True

    def close(self) -> None:
        """Close every connection; the database is gone with the keeper."""
        for conn in self._connections:
            conn.close()
        self._keeper.close()
