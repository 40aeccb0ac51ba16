"""The isolated target: the learner's modules loaded and run in a child process, one per test.

Under ``--isolate`` the pytest plugin hands the chapter tests an
:class:`IsolatedTarget` instead of a :class:`harness.targets.Target`.
``component(module, name)`` returns a proxy for the learner's class or
function; the module itself is imported only in the learner's process. That
process is started (by the learner host, a fresh interpreter, never a fork of
the test process) on the test's first ``component`` call and stopped, with
everything it started, when the test ends (:meth:`IsolatedTarget.close`), so
every test starts from a fresh process.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from harness.errors import TargetError
from harness.isolation.child import Child
from harness.isolation.limits import Limits, harden
from harness.targets import Target


class IsolatedTarget:
    """A :class:`Target` whose learner code runs only in a child process."""

    def __init__(self, target: Target, limits: Limits | None = None) -> None:
        self.target = target
        self.limits = limits or Limits()
        self._child: Child | None = None

    @property
    def root(self) -> Path:
        return self.target.root

    @property
    def label(self) -> str:
        return self.target.label

    def module(self, relative: str) -> Any:
        raise TargetError(
            f"under --isolate the harness never imports learner modules such as {relative}; "
            "a chapter test reaches learner code only through kit.component(module, name)"
        )

    def component(self, relative: str, name: str) -> Any:
        """A proxy for ``name`` of module ``relative``, loaded in this test's child process."""
        if self._child is None:
            self._child = Child(self.target, self.limits)
        return self._child.component(relative, name)

    def close(self) -> None:
        """Stop this test's child process, if it started one."""
        child, self._child = self._child, None
        if child is not None:
            child.stop()


def isolate(target: Target, limits: str = "") -> IsolatedTarget:
    """``target`` under isolation, with limits read from ``limits`` (see :meth:`Limits.parse`).

    It also makes this process unreadable to its children (:func:`harden`).
    """
    if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
        raise ValueError(
            "--isolate runs your code in a process of its own, which this platform cannot "
            "start (no os.fork or socket.send_fds); run the tests without --isolate, or grade "
            "on Linux or macOS"
        )
    isolated = IsolatedTarget(target, Limits.parse(limits))
    harden()
    return isolated
