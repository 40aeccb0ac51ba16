"""What a run can end with besides a verdict: learner code that is not done or that broke.

These are raised out of a run so that the pytest plugin can show them to a
person: a stub's TODO without a wall of red, a learner's own exception with
the learner's traceback and the timeline up to it.
"""

from __future__ import annotations

import re

from harness.timeline import Timeline

_TODO = re.compile(r"TODO\((?P<id>[\w.]+)\)")


class NotDone(Exception):
    """Learner code raised NotImplementedError: a TODO is still to be filled."""

    def __init__(self, original: NotImplementedError, where: str) -> None:
        text = str(original) or "NotImplementedError"
        match = _TODO.search(text)
        self.todo = match["id"] if match else None
        self.text = text
        self.where = where
        self.token: str | None = None
        self.location: str | None = None
        """``path:line (function)`` where it was raised, when no traceback can say it (the
        stub ran in a process of its own)."""
        super().__init__(f"{where}: {text}")


class LearnerError(Exception):
    """Learner code raised an exception that the harness did not expect."""

    def __init__(self, original: BaseException, where: str, timeline: Timeline) -> None:
        self.original = original
        self.where = where
        self.timeline = timeline
        self.token: str | None = None
        super().__init__(f"{where} raised {type(original).__name__}: {original}")


class TargetError(Exception):
    """The target tree lacks a module or a name that a test needs."""
