"""The messaging port: what an in-process bus and a requester need from the world.

The three families of messages each have their own way of failing, and these
exceptions name them:

- :class:`Refused`: a command was refused by its handler (commands may be refused;
  events, being facts, may not);
- :class:`NoHandler` / :class:`TooManyHandlers`: a command must reach exactly one
  handler, so sending one that has none, or two, is an error;
- :class:`SubscriberFailed`: what a failing subscriber raises when an event reaches it.

:class:`Wire` is a requester's link to the world: it sends a query to the service
that answers it, and it sets alarms on the virtual clock. Nothing in the world
blocks or sleeps: a reply arrives later, as a call of the requester's ``on_reply``,
and an alarm is a callback that the world runs at its time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from harness.faults import Gate
from harness.scheduler import Scheduler
from harness.timeline import Timeline

__all__ = ["NoHandler", "Refused", "SubscriberFailed", "TooManyHandlers", "Wire"]


class Refused(Exception):
    """A command was refused; the message says why (``Refused("order o-1 is already paid")``)."""


class NoHandler(LookupError):
    """A command was sent, and no handler is registered for its type."""


class TooManyHandlers(LookupError):
    """A command type has more than one handler: a command must reach exactly one."""


class SubscriberFailed(Exception):
    """Raised by a subscriber that could not take an event in (it may work if tried again)."""


class Wire:
    """A requester's link to the world: send a query, set an alarm.

    - ``request(query, correlation_id=...)`` sends ``query`` to the service that
      answers it. The reply comes later, as ``on_reply(correlation_id, body)`` on the
      requester; it may come late, twice, or never.
    - ``call_later(delay, callback)`` runs ``callback()`` ``delay`` virtual seconds
      from now. It returns at once: nothing in the world waits or sleeps.
    """

    __slots__ = ("_gate", "_scheduler", "_timeline", "_deliver", "_run", "_service")

    def __init__(
        self,
        *,
        gate: Gate,
        scheduler: Scheduler,
        timeline: Timeline,
        deliver: Callable[[Mapping[str, Any], str], None],
        run: Callable[[Callable[[], Any]], Any],
        service: str = "orders",
    ) -> None:
        self._gate = gate
        self._scheduler = scheduler
        self._timeline = timeline
        self._deliver = deliver
        self._run = run
        self._service = service

    def request(self, query: Mapping[str, Any], *, correlation_id: str) -> None:
        """Send ``query`` to the service; its reply will carry ``correlation_id``."""
        if not isinstance(correlation_id, str) or not correlation_id:
            raise ValueError(
                f"request needs a correlation_id (a non-empty str), got {correlation_id!r}: "
                "the reply carries it back, and it is how you tell which question it answers"
            )
        body = dict(query)
        what = f"request {body.get('type', '?')} {body.get('order_id', '?')} corr={correlation_id}"

        def effect() -> None:
            self._timeline.record(self._scheduler.clock.now, self._gate.actor, self._service, what)
            self._deliver(body, correlation_id)

        self._gate.call(what, effect)

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback()`` ``delay`` virtual seconds from now (an alarm on the clock)."""
        number = isinstance(delay, (int, float)) and not isinstance(delay, bool)
        if not number or not math.isfinite(delay) or delay < 0:
            raise ValueError(f"call_later needs a delay >= 0 in seconds, got {delay!r}")
        if not callable(callback):
            raise TypeError(f"call_later needs a callable to run, got {callback!r}")
        clock = self._scheduler.clock
        what = f"alarm in {delay:.3f} s"

        def effect() -> None:
            self._timeline.record(clock.now, self._gate.actor, "clock", what)
            due = clock.now + delay

            def ring() -> None:
                self._timeline.record(clock.now, "clock", self._gate.actor, "alarm rings")
                self._run(callback)

            self._scheduler.at(due, ring)

        self._gate.call(what, effect)
