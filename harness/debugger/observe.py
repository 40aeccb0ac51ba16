"""Watching a run step by step: the hook that the debugger's replay sets, and nothing else does.

A run is observed only while :func:`observing` is active, that is, only when
the debugger replays the one failing case to draw it; every other run pays a
single check of an empty list when its world is made. While observing, each
step the world records is followed by a snapshot of the world's state, as
:class:`~harness.debugger.panel.Panel` objects: the broker's, the log's and the
store's own panels, then whatever the workload added with :func:`add_panels`.

A workload hands over state no server holds (a client's positions, say) like this::

    add_panels(world, lambda: [Panel("positions of consumer", ("partition", "position"),
                                     [(p, client.position(p)) for p in client.assignment()])])

A panel source must only read: a snapshot that changed the world would change the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from harness.debugger.panel import Panel

PanelSource = Callable[[], Sequence[Panel]]


class Observer(Protocol):
    """What :func:`observing` accepts: told of each new world, and of the workload's panels."""

    def attach(self, world: Any) -> None: ...

    def add_source(self, world: Any, source: PanelSource) -> None: ...


_observers: list[Observer] = []


@contextmanager
def observing(observer: Observer) -> Iterator[Observer]:
    """Within this block, every new world is handed to ``observer`` (one block at a time)."""
    if _observers:
        raise RuntimeError("a run is already being observed; observe one replay at a time")
    _observers.append(observer)
    try:
        yield observer
    finally:
        _observers.remove(observer)


def attach(world: Any) -> None:
    """Hand a new world to the observer, if any (the workloads' ``new_world`` calls this)."""
    if _observers:
        _observers[-1].attach(world)


def add_panels(world: Any, source: PanelSource) -> None:
    """Show ``source()``'s panels at every step of ``world``, when its run is observed.

    Costs nothing when no one observes: ``source`` is then never called.
    """
    if _observers:
        _observers[-1].add_source(world, source)
