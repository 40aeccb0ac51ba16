"""The store port on two databases: SQLite (the default) and PostgreSQL (live).

Learner code gets a store with the interface of :class:`harness.ports.Store`
(``execute``, ``commit``, ``rollback``, ``transaction``) and writes one SQL
dialect; the port translates what differs, so the same code runs on both:

- placeholders are ``?`` (SQLite's style); on PostgreSQL the port turns each
  ``?`` into ``%s`` (so do not write a ``?`` inside a string literal);
- row locks are PostgreSQL's ``FOR UPDATE`` and ``FOR UPDATE SKIP LOCKED``; on
  SQLite the port drops them, because SQLite lets one writer at a time into
  the database, so every write transaction is already exclusive there;
- ``RETURNING`` works on both (SQLite >= 3.35).

``store.dialect`` says which database it is (``"sqlite"`` or ``"postgresql"``),
for the rare statement that cannot be written once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from harness.ports.store import Store

_ROW_LOCK = re.compile(r"\s+FOR\s+UPDATE(\s+SKIP\s+LOCKED)?\b", re.IGNORECASE)


@functools.lru_cache(maxsize=512)  # a relay sends the same few statements again and again
def for_sqlite(sql: str) -> str:
    """``sql`` without PostgreSQL's row-locking clauses.

    >>> for_sqlite("SELECT id FROM outbox ORDER BY id LIMIT 5 FOR UPDATE SKIP LOCKED")
    'SELECT id FROM outbox ORDER BY id LIMIT 5'
    """
    return _ROW_LOCK.sub("", sql)


def for_postgresql(sql: str) -> str:
    """``sql`` with ``?`` placeholders turned into psycopg's ``%s`` (and ``%`` escaped).

    >>> for_postgresql("UPDATE outbox SET sent_at = ? WHERE body LIKE '%x' AND id = ?")
    "UPDATE outbox SET sent_at = %s WHERE body LIKE '%%x' AND id = %s"
    """
    return sql.replace("%", "%%").replace("?", "%s")


class SqliteStore(Store):
    """The store port over SQLite that also accepts PostgreSQL's row-locking clauses."""

    __slots__ = ()
    dialect = "sqlite"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (row-locking clauses dropped); return its rows."""
        return super().execute(for_sqlite(sql), params)

    @property
    def in_transaction(self) -> bool:
        """Whether this connection has uncommitted work (the harness asks, to interleave)."""
        return self._conn.in_transaction


class PgStore(Store):
    """The store port over a psycopg 3 connection (``?`` placeholders, like SQLite)."""

    __slots__ = ()
    dialect = "postgresql"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; return its rows (empty for statements without rows)."""
        what = " ".join(sql.split())
        if len(what) > 60:
            what = what[:57] + "..."
        translated = for_postgresql(sql)

        def effect() -> list[tuple[Any, ...]]:
            cursor = self._conn.execute(translated, tuple(params))
            rows = cursor.fetchall() if cursor.description is not None else []
            self._record(what)
            return [tuple(row) for row in rows]

        return self._gate.call(what, effect)

    @property
    def in_transaction(self) -> bool:
        """Whether this connection has uncommitted work (the harness asks, to interleave)."""
        from psycopg.pq import TransactionStatus

        return self._conn.info.transaction_status != TransactionStatus.IDLE
