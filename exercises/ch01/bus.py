"""ch01 · task 2 · A bus for commands and events: send to one, publish to all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.ports.messaging import NoHandler, TooManyHandlers  # noqa: F401


class Bus:
    """Routes commands to their one handler and events to all their subscribers.

    Promise for commands: ``send(command)`` hands the command to exactly one
    handler, the one registered for ``command["type"]``, and returns what that
    handler returned; when the handler refuses (raises ``Refused``), the sender
    hears it. A type with no handler raises ``NoHandler``; a second handler for a
    type raises ``TooManyHandlers`` (when it registers, and then it never gets a
    command, or when a command of that type is sent). Either error names the
    command's type.

    Promise for events: ``publish(event)`` hands the event to every subscriber of
    ``event["type"]``, each on its own: a subscriber that raises does not stop the
    others. It returns the names of the subscribers that failed during this
    publish, and only those. The publisher then publishes the same event (same
    ``event["id"]``) again; it must reach only those that have not taken that
    event in yet. An event with no subscriber is fine.
    """

    def __init__(self) -> None:
        """Keep here what the bus needs to remember."""

    def handle(self, command_type: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        """Register ``handler`` as the one handler of the commands of ``command_type``."""
        raise NotImplementedError(
            "TODO(ch01.2): remember the handler of this command type (and refuse a second one, "
            "here or in send)"
        )

    def send(self, command: dict[str, Any]) -> Any:
        """Hand ``command`` to its one handler; return what the handler returned."""
        raise NotImplementedError(
            "TODO(ch01.2): call the one handler of command['type'], or raise NoHandler / "
            "TooManyHandlers"
        )

    def subscribe(
        self, event_type: str, name: str, subscriber: Callable[[dict[str, Any]], None]
    ) -> None:
        """Add ``subscriber`` (called ``name``) to the subscribers of ``event_type``."""
        raise NotImplementedError("TODO(ch01.2): remember the subscriber and its name")

    def publish(self, event: dict[str, Any]) -> list[str]:
        """Hand ``event`` to every subscriber of its type; return the names of those that failed."""
        raise NotImplementedError(
            "TODO(ch01.2): call every subscriber that has not taken this event in yet, each on "
            "its own, and return the names of those that raised"
        )
