"""ch01 · task 3 · Request/reply: ask a question, match the reply, give up on time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.ports.messaging import Wire


class Requester:
    """Asks the orders service questions and answers each asker exactly once."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.waiting: dict[str, Callable[[dict[str, Any] | None], None]] = {}
        self.count = 0

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
        self.wire.request(query, correlation_id=correlation_id)
        # The alarm is an event on the virtual clock: nothing waits, and it fires on time.
        self.wire.call_later(timeout, lambda: self._settle(correlation_id, None))

    def on_reply(self, correlation_id: str, body: dict[str, Any]) -> None:
        """A reply arrived (the world calls this); answer the question it belongs to."""
        self._settle(correlation_id, body)

    def _settle(self, correlation_id: str, body: dict[str, Any] | None) -> None:
        on_answer = self.waiting.pop(correlation_id)
        on_answer(body)
