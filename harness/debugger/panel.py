"""A panel: one piece of the world's state at one step, as plain data.

The page knows nothing of queues, logs or tables: it draws every panel the
same way, a title, a table of ``columns`` and ``rows``, and an optional
``note`` under it. Whatever a server or a workload wants a learner to see
at each step (the deliveries of a queue, the offsets of a partition, the
rows of a table) it hands over as panels.

>>> panel = Panel("queue payments", ("message", "state"), (("m1", "ready"),))
>>> panel.as_json()
{'title': 'queue payments', 'columns': ['message', 'state'], 'rows': [['m1', 'ready']]}
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


@dataclass(frozen=True)
class Panel:
    """A titled table of the state; ``note`` says what the table alone cannot (e.g. empty)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "rows", tuple(tuple(row) for row in self.rows))
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
