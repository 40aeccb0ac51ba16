"""ch01 · task 3 · Request/reply: ask a question, match the reply, give up on time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.ports.messaging import Wire


class Requester:
    """Asks the orders service questions and answers each asker exactly once.

    Promise: every ``ask(query, timeout, on_answer)`` ends in exactly one call of
    ``on_answer``: with the body of the reply whose correlation id is the one the
    request was sent with, if it arrives within ``timeout`` virtual seconds, else
    with ``None`` ("timed out") when the timeout expires. A reply that comes after
    that, a second copy of a reply, or a reply with an unknown correlation id
    changes nothing.

    Nothing waits: ``ask`` returns at once. Send the query with
    ``self.wire.request(query, correlation_id=...)``; the world calls
    ``on_reply(correlation_id, body)`` when a reply arrives. Set an alarm with
    ``self.wire.call_later(delay, callback)``: the world calls ``callback()``
    ``delay`` virtual seconds later.
    """

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.waiting: dict[str, Callable[[dict[str, Any] | None], None]] = {}
        self.count = 0
        self.deadlines: dict[str, float] = {}

    def ask(
        self,
        query: dict[str, Any],
        timeout: float,
        on_answer: Callable[[dict[str, Any] | None], None],
    ) -> None:
        """Send ``query`` with a new correlation id; ``on_answer`` gets the reply or None."""
        self.count += 1
        # A fresh id per question is what lets a reply say which question it answers.
        correlation_id = f"c{self.count}"
        self.waiting[correlation_id] = on_answer
        self.deadlines[correlation_id] = time.monotonic() + timeout
        self.wire.request(query, correlation_id=correlation_id)

    def on_reply(self, correlation_id: str, body: dict[str, Any]) -> None:
        """A reply arrived (the world calls this); answer the question it belongs to."""
        deadline = self.deadlines.get(correlation_id)
        if deadline is not None and time.monotonic() > deadline:
            body = None
        self._settle(correlation_id, body)

    def _settle(self, correlation_id: str, body: dict[str, Any] | None) -> None:
        on_answer = self.waiting.pop(correlation_id, None)
        if on_answer is not None:
            on_answer(body)
