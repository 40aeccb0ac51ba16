"""ch01 · task 2 · A bus for commands and events: send to one, publish to all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.ports.messaging import NoHandler


class Bus:
    """Routes commands to their one handler and events to all their subscribers.

    Promise for commands: ``send(command)`` hands the command to exactly one
    handler, the one registered for ``command["type"]``, and returns what that
    handler returned. A type with no handler raises ``NoHandler``; a second handler
    for a type raises ``TooManyHandlers`` (when it registers, or when a command of
    that type is sent). Either error names the command's type.

    Promise for events: ``publish(event)`` hands the event to every subscriber of
    ``event["type"]``, each on its own: a subscriber that raises does not stop the
    others. It returns the names of the subscribers that failed. The publisher then
    publishes the same event (same ``event["id"]``) again; it must reach only those
    that have not taken it in yet. An event with no subscriber is fine.
    """

    def __init__(self) -> None:
        """Keep here what the bus needs to remember."""
        self.handlers: dict[str, list[Callable[[dict[str, Any]], Any]]] = {}
        self.subscribers: dict[str, list[tuple[str, Callable[[dict[str, Any]], None]]]] = {}
        self.taken: set[tuple[str, str]] = set()

    def handle(self, command_type: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        """Register ``handler`` as the one handler of the commands of ``command_type``."""
        self.handlers.setdefault(command_type, []).append(handler)

    def send(self, command: dict[str, Any]) -> Any:
        """Hand ``command`` to its one handler; return what the handler returned."""
        kind = command["type"]
        if kind not in self.handlers:
            raise NoHandler(f"no handler for {kind}: register one before sending it")
        reply = None
        for handler in self.handlers[kind]:
            reply = handler(command)
        return reply

    def subscribe(
        self, event_type: str, name: str, subscriber: Callable[[dict[str, Any]], None]
    ) -> None:
        """Add ``subscriber`` (called ``name``) to the subscribers of ``event_type``."""
        self.subscribers.setdefault(event_type, []).append((name, subscriber))

    def publish(self, event: dict[str, Any]) -> list[str]:
        """Hand ``event`` to every subscriber of its type; return the names of those that failed."""
        failed = []
        for name, subscriber in self.subscribers.get(event["type"], []):
            key = (event["id"], name)
            # Remembered per (event, subscriber): a retry reaches only those still missing it.
            if key in self.taken:
                continue
            try:
                subscriber(event)
            except Exception:
                # One subscriber's failure is its own: note it and go on to the next.
                failed.append(name)
                continue
            self.taken.add(key)
        return failed
