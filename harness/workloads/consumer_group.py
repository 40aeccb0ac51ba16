"""A consumer group inside a world: membership, rebalances, the listener calls, the poll loop.

Kafka's group coordinator, as the log workloads need it:

- a member *joins* when its incarnation starts and *leaves* when it crashes,
  when the run ends, or when a trace tells it to leave;
- every join or leave triggers a *rebalance*, run as the next event at the
  same virtual time. It follows Kafka's eager protocol (that of the range
  assignor): every member first gives up all its partitions, through its
  listener's ``on_partitions_revoked(partitions)``, and forgets its positions;
  then each gets its new share, through ``on_partitions_assigned(partitions)``,
  and resumes at the group's committed offsets (or where the listener seeks);
- a member that leaves on purpose is called back with
  ``on_partitions_revoked`` first (Kafka does so on ``close()``); a member that
  crashed is not (its memory is gone);
- a component without those methods simply gets no call (Kafka's
  ``ConsumerRebalanceListener`` is optional too).

:class:`Poller` is the poll loop the harness runs for a member: it calls
``poll_once()`` every millisecond of virtual time until the member has caught
up; then it sleeps until the trace's next step (or for good, when none is
left), and a rebalance wakes it again.

Where it simplifies: a crashed member leaves at once (Kafka waits for its
session timeout, 45 s by default), and ``onPartitionsLost`` is never called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.log import Log
from harness.ports.log_client import LogClient
from harness.workloads.play import add_panels, positions_panel
from harness.world import Component, World

if TYPE_CHECKING:
    from harness.debugger.panel import Panel

POLL_INTERVAL = 0.001
IDLE_POLLS = 2
"""A member's poll loop rests after this many polls in a row that leave it caught up: the
poll that read the last records, then one that found nothing new (its chance to commit
when idle)."""


class Poller:
    """Calls one member's ``poll_once()`` again and again, as Kafka's poll loop does."""

    def __init__(
        self,
        world: World,
        host: Component,
        client: LogClient,
        poll_once: Callable[[], Any],
        *,
        log: Log,
        next_step: Callable[[], float | None],
    ) -> None:
        self._world = world
        self._log = log
        self._host = host
        self._client = client
        self._poll_once = poll_once
        self._next_step = next_step
        self._incarnation = host.incarnation
        self._rounds = 0
        self._idle = 0

    @property
    def alive(self) -> bool:
        return self._host.running and self._host.incarnation == self._incarnation

    def wake(self) -> None:
        """Poll again from the next millisecond on (a rebalance gave this member partitions)."""
        self._idle = 0
        if self.alive:
            self._rounds += 1  # a rest already scheduled is called off
            self._schedule(self._world.now() + POLL_INTERVAL)

    def _schedule(self, when: float) -> None:
        round_ = self._rounds
        self._world.scheduler.at(when, lambda: self._tick(round_))

    def _tick(self, round_: int) -> None:
        if round_ != self._rounds or not self.alive:
            return
        self._client.last_polled = 0
        self._host.invoke(self._poll_once)
        if not self.alive:
            return
        log, topic = self._log, self._client.topic
        caught_up = all(
            self._client.position(p) >= log.end_offset(topic, p) for p in self._client.assignment()
        )
        if not caught_up:
            self._idle = 0
        elif self._client.last_polled:
            # It read the last records: one poll that finds nothing new is still its due.
            self._idle = 1
        else:
            self._idle += 1
        if self._idle < IDLE_POLLS:
            self._schedule(self._world.now() + POLL_INTERVAL)
            return
        # Caught up: rest until the trace plays its next step (steps run first at their time).
        when = self._next_step()
        if when is not None:
            self._idle = 0
            self._schedule(max(when, self._world.now()))


@dataclass
class _Member:
    host: Component
    incarnation: int
    client: LogClient
    listener: Any
    poller: Poller

    @property
    def alive(self) -> bool:
        return self.host.running and self.host.incarnation == self.incarnation


class ConsumerGroup:
    """The coordinator of one group on one topic: who owns which partition, and telling them."""

    def __init__(
        self,
        world: World,
        log: Log,
        *,
        group: str,
        topic: str,
        on_assign: Callable[[str, list[int]], None] | None = None,
    ) -> None:
        self._world = world
        self._log = log
        self.group = group
        self.topic = topic
        self._on_assign = on_assign
        """Told ``(member, partitions)`` at each assignment, before the member's listener."""
        self._members: dict[str, _Member] = {}
        self._scheduled = False
        add_panels(world, self._panels)

    def join(self, host: Component, client: LogClient, listener: Any, poller: Poller) -> None:
        """Add this incarnation of ``host``; it leaves again when the incarnation ends."""
        self._members[host.name] = _Member(host, host.incarnation, client, listener, poller)
        self._log.join(self.group, self.topic, host.name)
        host.on_crash(lambda: self._leave(host.name))
        self._schedule()

    def leave(self, name: str) -> None:
        """``name`` leaves on purpose: it gives up its partitions (revoke callback), then stops."""
        member = self._members.get(name)
        if member is None or not member.alive:
            return
        self._revoke(member)
        member.host.shutdown()

    def _panels(self) -> list[Panel]:
        """The debugger's view of the group: where its live members read next."""
        live = {name: m.client for name, m in self._members.items() if m.alive}
        return [positions_panel(self.group, live)]

    def members(self) -> list[str]:
        return list(self._members)

    def _leave(self, name: str) -> None:
        if self._members.pop(name, None) is not None:
            self._log.leave(self.group, self.topic, name)
            self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._world.scheduler.after(0.0, self._rebalance)

    def _rebalance(self) -> None:
        self._scheduled = False
        assignment = self._log.assignment(self.group, self.topic)
        # Eager protocol: every member gives up everything before anyone gets anything.
        for member in list(self._members.values()):
            if member.alive:
                self._revoke(member)
        for name, member in list(self._members.items()):
            if not member.alive:
                continue
            partitions = assignment.get(name, [])
            member.client.assign(partitions)
            self._record(name, "assign " + self._spans(partitions))
            if self._on_assign is not None:
                self._on_assign(name, list(partitions))
            callback = getattr(member.listener, "on_partitions_assigned", None)
            if callback is not None:
                member.host.invoke(
                    callback, list(partitions), what=f"on_partitions_assigned of {name}"
                )
            if member.alive:
                member.poller.wake()

    def _revoke(self, member: _Member) -> None:
        owned = member.client.assignment()
        if not owned:
            return
        name = member.host.name
        self._record(name, "revoke " + self._spans(owned))
        callback = getattr(member.listener, "on_partitions_revoked", None)
        if callback is not None:
            member.host.invoke(callback, list(owned), what=f"on_partitions_revoked of {name}")
        if member.alive:
            member.client.assign([])  # positions are forgotten: the next owner starts committed

    def _record(self, name: str, what: str) -> None:
        self._world.timeline.record(self._world.now(), "group", name, what)

    def _spans(self, partitions: list[int]) -> str:
        if not partitions:
            return "nothing"
        return ", ".join(f"{self.topic}[{p}]" for p in partitions)


def next_step_time(steps: Sequence[Any], pending: Callable[[], int]) -> Callable[[], float | None]:
    """When the trace plays its next step, from ``schedule_steps``'s count of pending steps."""

    def next_step() -> float | None:
        left = pending()
        return steps[len(steps) - left].at if left else None

    return next_step


def without_listener(factory: Callable[..., Any]) -> Callable[..., Any]:
    """A factory whose components show the harness only their ``poll_once``.

    The group then calls no listener: the client resumes at the committed
    offsets by itself, as Kafka's does without a ``ConsumerRebalanceListener``.
    """

    def build(**ports: Any) -> _PollOnly:
        return _PollOnly(factory(**ports))

    return build


class _PollOnly:
    __slots__ = ("poll_once",)

    def __init__(self, inner: Any) -> None:
        self.poll_once = inner.poll_once
