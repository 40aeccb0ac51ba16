"""A panel: one piece of the world's state at one step, as plain data.

The page knows nothing of queues, logs or tables: it draws every panel the
same way, a title, a table of ``columns`` and ``rows``, and an optional
``note`` under it. Whatever a server or a workload wants a learner to see
at each step (the deliveries of a queue, the offsets of a partition, the
rows of a table) it hands over as panels.

>>> panel = Panel("queue payments", ("message", "state"), (("m1", "ready"),))
>>> panel.as_json()
{'title': 'queue payments', 'columns': ['message', 'state'], 'rows': [['m1', 'ready']]}
>>> big = Panel("queue payments", ("message",), [(f"m{n}",) for n in range(1000)], "1000 ready")
>>> len(big.rows), big.note
(50, '1000 ready; the first 50 of 1,000 rows')
>>> Panel("t", ("a",), ((1, 2),))
Traceback (most recent call last):
...
ValueError: panel 't': row 0 has 2 cells for 1 columns ('a'); give every row one cell per column
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Cell = str | int | float | bool | None
MOST_ROWS = 50
"""The most rows a panel keeps (a queue of 1,000 messages, say): its first ones, and its note
says how many it left out, so that a page of a big run stays small and quick to draw."""


@dataclass(frozen=True)
class Panel:
    """A titled table of the state; ``note`` says what the table alone cannot (e.g. empty)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...] = ()
    note: str = ""
    total: int = 0
    """How many rows there are in all, when ``rows`` holds only the first of them (a source
    with thousands need not build them all: :data:`MOST_ROWS` are shown)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        rows = tuple(tuple(row) for row in self.rows[:MOST_ROWS])
        total = max(self.total, len(self.rows))
        object.__setattr__(self, "total", total)
        if total > len(rows):
            cut = f"the first {len(rows)} of {total:,} rows"
            object.__setattr__(self, "note", f"{self.note}; {cut}" if self.note else cut)
        object.__setattr__(self, "rows", rows)
        for index, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                names = ", ".join(repr(c) for c in self.columns)
                raise ValueError(
                    f"panel {self.title!r}: row {index} has {len(row)} cells for "
                    f"{len(self.columns)} columns ({names}); give every row one cell per column"
                )

    def as_json(self) -> dict[str, Any]:
        """The panel as JSON-ready data (cells that are not plain values become text)."""
        data: dict[str, Any] = {
            "title": self.title,
            "columns": list(self.columns),
            "rows": [[_cell(value) for value in row] for row in self.rows],
        }
        if self.note:
            data["note"] = self.note
        return data


def _cell(value: Any) -> Cell:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value) if not isinstance(value, bytes) else value.hex()


def panels_json(panels: Sequence[Panel]) -> list[dict[str, Any]]:
    """Several panels as JSON-ready data, in order."""
    return [panel.as_json() for panel in panels]
