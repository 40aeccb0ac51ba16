"""The learner's process: forked from the test process, limited, and reachable only by its socket.

:class:`Child` forks the test process. The child puts itself in its own
process group, sends its stdout and stderr to a file that the harness reads
and shows labelled (so nothing it prints can pass for pytest's own lines),
closes every other file the test process had open, takes its resource limits
(:class:`Limits`), and serves calls on its socket until the harness stops it.
Learner modules are imported there, and only there.

When the child ends on its own or stops answering, the harness gets a
:class:`ProcessEnded` (or :class:`NoAnswer`) that says why in plain words,
never a crash or a hang of the test process.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import gc
import io
import os
import signal
import socket
import sys
import tempfile
import time
from typing import Any

from harness.errors import LearnerError
from harness.isolation.limits import Limits, apply
from harness.isolation.rpc import ROOT, Connection, ConnectionLost
from harness.timeline import Timeline

PREFIX = "[your code] "
"""Every line the learner's process prints is shown after this label."""

SHOWN = 20_000
"""Characters of the learner's output shown per test; the rest is counted, not shown."""

_EXIT_BROKEN = 70  # the child's own machinery failed (EX_SOFTWARE)
_EXIT_MEMORY = 71  # the child ran out of memory outside the learner's calls


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
    """This platform cannot fork; run without --isolate."""


class Child:
    """One learner process, forked now, serving ``root`` (a :class:`harness.targets.Target`)."""

    def __init__(self, root: Any, limits: Limits) -> None:
        if not hasattr(os, "fork"):
            raise IsolationUnavailable(
                "--isolate runs your code in a forked process, which this platform (no os.fork) "
                "cannot do; run the tests without --isolate, or grade on Linux"
            )
        import freezegun  # noqa: F401  (imported once here, not again in every child)

        _reap_dying()

        self.limits = limits
        self.output = tempfile.TemporaryFile()
        self._shown = 0
        self._read = 0
        self._partial = ""
        self._status: int | None = None
        ours, theirs = socket.socketpair()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        # Frozen objects are left alone by the child's garbage collector, so the child does not
        # touch (and copy) every page of the test process it was forked from.
        gc.freeze()
        pid = os.fork()
        if pid:
            gc.unfreeze()
        else:  # pragma: no cover - runs in the child, which never returns
            code = _EXIT_BROKEN
            try:
                ours.close()
                _become_learner(theirs, self.output.fileno(), limits)
                serve(theirs, root)
                code = 0
            except MemoryError:
                code = _EXIT_MEMORY
            except BaseException:
                import traceback

                with contextlib.suppress(BaseException):
                    traceback.print_exc()
            finally:
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(BaseException):
                        stream.flush()
                os._exit(code)
        theirs.close()
        self.pid = pid
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also done by the child: whichever runs first wins the race
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
        for line in lines:
            if self._shown < SHOWN:
                sys.stdout.write(PREFIX + line + "\n")
            self._shown += len(line) + 1

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
        self._kill(block=False)
        self.forward_output()
        if self._partial:
            self._show([self._partial])
            self._partial = ""
        if self._shown > SHOWN:
            sys.stdout.write(f"{PREFIX}... ({self._shown - SHOWN:,} more characters not shown)\n")
        self.output.close()

    def _kill(self, *, block: bool = True) -> None:
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(OSError):
                kill(self.pid, signal.SIGKILL)
        if self._reap(block=block) is None and not block:
            _dying.append(self.pid)  # reaped later: the test need not wait for the kernel

    def _reap(self, *, block: bool) -> int | None:
        if self._status is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return None
            if pid:
                self._status = status
        return self._status

    def _ended(self, lost: ConnectionLost) -> BaseException:
        where = self._where()
        if lost.reason == "closed":
            return ProcessEnded("the harness had already stopped your code's process", where=where)
        if lost.reason == "silent":
            self._kill()
            return NoAnswer(
                f"your code did not answer within {self.limits.answer:g} s while the harness "
                f"called {where}, so it was stopped: a loop that never ends?",
                where=where,
                output=self.tail(),
            )
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

    def _wait_for_exit(self) -> int | None:
        """The exit status of a child whose socket closed (it may close it without exiting)."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            status = self._reap(block=False)
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


_dying: list[int] = []
"""Killed learner processes not reaped yet."""


def _reap_dying() -> None:
    for pid in list(_dying):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _dying.remove(pid)


atexit.register(lambda: [_reap_dying(), time.sleep(0.05), _reap_dying()] if _dying else None)


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


class _Clock:
    """Keeps the learner's frozen clock at the harness's virtual time."""

    def __init__(self) -> None:
        self._now: Any = None
        self._freezer: Any = None
        self._factory: Any = None

    def follow(self, stamp: tuple[int, ...] | None) -> None:
        if stamp == self._now:
            return
        self._now = stamp
        if stamp is None:
            if self._freezer is not None:
                self._freezer.stop()
                self._freezer = self._factory = None
            return
        now = datetime.datetime(*stamp)
        if self._freezer is None:
            import freezegun

            self._freezer = freezegun.freeze_time(now)
            self._factory = self._freezer.start()
        else:
            self._factory.move_to(now)


def serve(sock: socket.socket, root: Any) -> None:
    """The child's main loop: serve ``root`` and what it hands out until the harness leaves."""
    clock = _Clock()
    connection = Connection(sock, harness=False, root=root, on_time=clock.follow)
    connection.classes = _local_class
    connection.serve()


def _local_class(info: tuple) -> type | None:
    """The harness class a proxy stands for, so that ``isinstance`` works in learner code."""
    module = sys.modules.get(info[1])
    found: Any = module
    for part in info[2].split("."):
        found = getattr(found, part, None)
    return found if isinstance(found, type) else None


def _become_learner(sock: socket.socket, output: int, limits: Limits) -> None:
    """Detach from the test process: own process group, own output, no other files, limits."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGXCPU, signal.SIGXFSZ):
        signal.signal(number, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    keep = {0, 1, 2, sock.fileno()}
    for fd in _open_fds():
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        write_through=True,
    )
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    import faulthandler
    import random

    faulthandler.enable(file=sys.stderr)
    random.seed(0)  # the same learner process every run, whatever the test process drew before
    apply(limits)


def _open_fds() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 1024))
