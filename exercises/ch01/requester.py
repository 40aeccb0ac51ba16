"""ch01 · task 3 · Request/reply: ask a question, match the reply, give up on time."""

from __future__ import annotations

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
    changes nothing. A correlation id names one question for the requester's
    whole life: never the same for two questions, even about the same order,
    even once the first is answered.

    Nothing waits: ``ask`` returns at once. Send the query with
    ``self.wire.request(query, correlation_id=...)``; the world calls
    ``on_reply(correlation_id, body)`` when a reply arrives. Set an alarm with
    ``self.wire.call_later(delay, callback)``: the world calls ``callback()``
    ``delay`` virtual seconds later.
    """

    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    def ask(
        self,
        query: dict[str, Any],
        timeout: float,
        on_answer: Callable[[dict[str, Any] | None], None],
    ) -> None:
        """Send ``query`` with a new correlation id; ``on_answer`` gets the reply or None."""
        raise NotImplementedError(
            "TODO(ch01.3): send the query with a fresh correlation id, remember who is waiting "
            "for it, and set an alarm for the timeout"
        )

    def on_reply(self, correlation_id: str, body: dict[str, Any]) -> None:
        """A reply arrived (the world calls this); answer the question it belongs to."""
        raise NotImplementedError(
            "TODO(ch01.3): answer the question with this correlation id, if it is still "
            "waiting, and forget it"
        )
