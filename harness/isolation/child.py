"""The learner's process, seen from the test process: started fresh, limited, ended with its test.

:class:`Child` is one test's learner process. It is never a fork of the test
process: the test process starts a fresh interpreter once, the learner host
(:mod:`harness.isolation.host`, inside the sandbox of
:mod:`harness.isolation.sandbox`), and asks it for one learner process per
test, handing over only a socket and an output file. The learner's stdout and
stderr go to that file, which the harness reads and shows labelled (so
nothing it prints can pass for pytest's own lines).

When the learner process ends on its own or stops answering, the harness gets
a :class:`ProcessEnded` (or :class:`NoAnswer`) that says why in plain words,
never a crash or a hang of the test process. A process that stops answering
(a loop that never ends) is first asked to stop its code where it is, so that
the failure shows the learner's file and line, as it does without isolation.
When the test ends, the host kills it and every process it started.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import sys
import tempfile
import time
from typing import Any

from harness.errors import LearnerError
from harness.isolation.launch import Host, HostLost, close_running
from harness.isolation.limits import Limits
from harness.isolation.rpc import ROOT, Connection, ConnectionLost
from harness.report import OUTPUT_HEAD, OUTPUT_TAIL, cut_notice
from harness.timeline import Timeline

PREFIX = "[your code] "
"""Every line the learner's process prints is shown after this label."""

_EXIT_MEMORY = 71  # the learner process ran out of memory outside the learner's calls (host.py)
STOP_WAIT = 2.0
"""Seconds a learner process that stopped answering gets to say where its code was stopped."""


class ProcessEnded(Exception):
    """The learner's process ended, or broke the protocol, before answering."""

    def __init__(self, reason: str, *, where: str, output: str = "") -> None:
        text = reason + (f"\nits last output:\n{output}" if output else "")
        super().__init__(text)
        self.reason = reason
        self.where = where
        self.output = output

    def as_learner_error(self) -> LearnerError:
        """The same, as the harness reports any error of the learner's code."""
        error = LearnerError(self, self.where, Timeline())
        error.__cause__ = self
        return error


class NoAnswer(ProcessEnded):
    """The learner's process stopped answering (a loop that never ends) and was stopped."""


class IsolationUnavailable(RuntimeError):
    """The learner host could not start here; the message says why and what to do."""


class Child:
    """One learner process for one test, serving ``root`` (a :class:`harness.targets.Target`,
    or for the kit's own tests an object whose class the host can import by file)."""

    def __init__(self, root: Any, limits: Limits, *, seed: int = 0) -> None:
        self.limits = limits
        self.output = tempfile.TemporaryFile()
        self._head = 0
        self._tail: collections.deque[str] = collections.deque(maxlen=OUTPUT_TAIL)
        self._cut_lines = self._cut_chars = 0
        self._read = 0
        self._partial = ""
        self._status: int | None = None
        self._ended_already = False
        ours, theirs = socket.socketpair()
        try:
            self.host, self.pid = _spawn(root, limits, theirs, self.output, seed)
        finally:
            theirs.close()
        self.connection = Connection(
            ours,
            harness=True,
            clock=frozen_now,
            timeout=limits.answer,
            on_lost=self._ended,
            on_idle=self.forward_output,
        )

    def component(self, relative: str, name: str) -> Any:
        """The learner's ``name`` from ``relative``, loaded in the child (a proxy here)."""
        return self.connection.request("call", ROOT, "component", (relative, name))

    # -- the learner's output --------------------------------------------------------------------

    def forward_output(self) -> None:
        """Show what the learner's process printed since last time, each line labelled."""
        size = os.fstat(self.output.fileno()).st_size
        if size <= self._read:
            return
        data = os.pread(self.output.fileno(), size - self._read, self._read)
        self._read = size
        text = self._partial + data.decode("utf-8", errors="backslashreplace")
        lines = text.split("\n")
        self._partial = lines.pop()
        self._show(lines)

    def _show(self, lines: list[str]) -> None:
        """Show the first lines at once, keep the last ones for :meth:`stop`, count the rest."""
        for line in lines:
            if self._head < OUTPUT_HEAD:
                sys.stdout.write(PREFIX + line + "\n")
                self._head += 1
                continue
            if len(self._tail) == OUTPUT_TAIL:
                dropped = self._tail.popleft()
                self._cut_lines += 1
                self._cut_chars += len(dropped) + 1
            self._tail.append(line)

    def tail(self, chars: int = 1500) -> str:
        """The end of the learner's output so far, labelled line by line."""
        size = os.fstat(self.output.fileno()).st_size
        start = max(0, size - chars)
        text = os.pread(self.output.fileno(), size - start, start).decode(
            "utf-8", errors="backslashreplace"
        )
        lines = text.splitlines()
        if start and lines:
            lines = lines[1:]
        return "\n".join("  " + PREFIX + line for line in lines)

    # -- the end ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the process (and anything it started in its group) and show its last output."""
        self.connection.close()
        self._kill()
        self.forward_output()
        if self._partial:
            self._show([self._partial])
            self._partial = ""
        if self._cut_lines:
            sys.stdout.write(PREFIX + cut_notice(self._cut_lines, self._cut_chars) + "\n")
        for line in self._tail:
            sys.stdout.write(PREFIX + line + "\n")
        self._tail.clear()
        self.output.close()

    def _kill(self) -> None:
        """End the learner process and everything it started (the host sweeps them)."""
        if self._ended_already:
            return
        self._ended_already = True
        status = self.host.end(self.pid)
        if self._status is None:
            self._status = status

    def _reap(self) -> int | None:
        if self._status is None and not self._ended_already:
            self._status = self.host.poll(self.pid)
        return self._status

    def _ended(self, lost: ConnectionLost) -> BaseException:
        where = self._where()
        if lost.reason == "closed":
            return ProcessEnded("the harness had already stopped your code's process", where=where)
        if lost.reason == "silent":
            stopped = self._stop_where_it_is()
            self._kill()
            error = NoAnswer(
                f"your code did not answer within {self.limits.answer:g} s while the harness "
                f"called {where}, so it was stopped"
                + (" where the traceback shows" if stopped is not None else "")
                + ": a loop that never ends?",
                where=where,
                output=self.tail(),
            )
            return error if stopped is None else error.with_traceback(stopped.__traceback__)
        if lost.reason == "protocol":
            self._kill()
            return ProcessEnded(
                f"your code's process sent the harness something it cannot read while the harness "
                f"called {where} ({lost.detail}); return plain data",
                where=where,
                output=self.tail(),
            )
        status = self._wait_for_exit()
        return self._describe(status, where)

    def _stop_where_it_is(self) -> BaseException | None:
        """Stop the silent process's code where it is; the exception it raised there, whose
        traceback (the learner's lines) shows where, or None if it says nothing in time."""
        if self._ended_already or not self.host.interrupt(self.pid):
            return None
        stopped = self.connection.last_answer(STOP_WAIT)
        return stopped if stopped is not None and stopped.__traceback__ is not None else None

    def _wait_for_exit(self) -> int | None:
        """The exit status of a child whose socket closed (it may close it without exiting)."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            status = self._reap()
            if status is not None:
                return status
            time.sleep(0.002)
        self._kill()
        return None

    def _describe(self, status: int | None, where: str) -> ProcessEnded:
        output = self.tail()
        if status is None:
            reason = (
                f"your code closed its connection to the harness while the harness called {where}"
            )
            return ProcessEnded(reason, where=where, output=output)
        if os.WIFEXITED(status):
            code = os.WEXITSTATUS(status)
            if code == _EXIT_MEMORY:
                reason = (
                    f"your code's process ran out of memory (its limit is {self.limits.memory} MB "
                    f"more than it started with) while the harness called {where}"
                )
            else:
                reason = (
                    f"your code ended its process with exit code {code} while the harness called "
                    f"{where}; code under test must return or raise, never exit "
                    "(sys.exit, os._exit, quit)"
                )
            return ProcessEnded(reason, where=where, output=output)
        number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        if number == signal.SIGXCPU:
            return NoAnswer(
                f"your code used more than {self.limits.cpu} s of CPU time while the harness "
                f"called {where}, so it was stopped: a loop that never ends?",
                where=where,
                output=output,
            )
        name = signal.Signals(number).name if number else "a signal"
        why = {
            signal.SIGSEGV: " (a segmentation fault: the interpreter itself crashed)",
            signal.SIGXFSZ: f" (it wrote more than {self.limits.output} MB of output)",
            signal.SIGKILL: " (perhaps for using too much memory)",
        }.get(number, "")
        reason = f"your code's process was killed by {name}{why} while the harness called {where}"
        return ProcessEnded(reason, where=where, output=output)

    def _where(self) -> str:
        connection = getattr(self, "connection", None)
        if connection is None or not connection.pending:
            return "your code"
        op, oid, name, args = connection.pending[-1]
        if oid == ROOT:
            return f"nothing yet: it was loading {args[0] if args else 'your module'}"
        proxy = connection._proxies.get(oid)
        owner = proxy._info[2] if proxy is not None else "your code"
        if op == "call" and name:
            return proxy._methods.get(name, f"{owner}.{name}") if proxy is not None else name
        if op == "call":
            return owner
        return f"{name} on {owner}"


def _spawn(root: Any, limits: Limits, learner: socket.socket, output: Any, seed: int):
    """A learner process from the host of ``root``; a host that the previous test's learner
    code killed is replaced once."""
    for attempt in range(2):
        try:
            host = Host.for_root(root)
            return host, host.spawn(limits, learner, output, seed=seed)
        except HostLost as lost:
            close_running()
            if attempt:
                raise IsolationUnavailable(
                    f"your code could not be started in its sandbox: {lost}; "
                    "set TWM_SANDBOX=none to run it without one"
                ) from None
    raise AssertionError("unreachable")


def frozen_now() -> tuple[int, ...] | None:
    """The time freezegun shows in this process now, or None when it is not frozen.

    It crosses as plain numbers (year, ..., microsecond): freezegun's datetime
    class is not one the learner's side should rebuild by name.
    """
    api = sys.modules.get("freezegun.api")
    factories = getattr(api, "freeze_factories", None)
    if not factories:
        return None
    now = factories[-1]()
    return (now.year, now.month, now.day, now.hour, now.minute, now.second, now.microsecond)
