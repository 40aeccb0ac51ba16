"""The grader's one error for bad input: its message is one line that names the fix."""

from __future__ import annotations


class GradingError(ValueError):
    """Bad input to the grader (not a kit checkout, unknown chapter, malformed hidden trace,
    unwritable output): the CLI prints the message on one line and exits 2."""
