"""ch01 · task 2 · A bus for commands and events: send to one, publish to all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.ports.messaging import NoHandler, TooManyHandlers


class Bus:
    """Routes commands to their one handler and events to all their subscribers."""

    def __init__(self) -> None:
        """Keep here what the bus needs to remember."""
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self.subscribers: dict[str, list[tuple[str, Callable[[dict[str, Any]], None]]]] = {}
        self.taken: set[tuple[str, str]] = set()

    def handle(self, command_type: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        """Register ``handler`` as the one handler of the commands of ``command_type``."""
        # One handler per type, checked as it registers: the mistake shows at start-up.
        if command_type in self.handlers:
            raise TooManyHandlers(
                f"{command_type} already has a handler; a command has exactly one"
            )
        self.handlers[command_type] = handler

    def send(self, command: dict[str, Any]) -> Any:
        """Hand ``command`` to its one handler; return what the handler returned."""
        kind = command["type"]
        # A command nobody handles must fail loudly: the sender believes it will be done.
        if kind not in self.handlers:
            raise NoHandler(f"no handler for {kind}: register one before sending it")
        return self.handlers[kind](command)

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
            subscriber(event)
            self.taken.add(key)
        return failed
