"""The learner's side of a learner process: its clock, its entropy, its loop.

A learner process is forked by the learner host (:mod:`harness.isolation.host`)
for one test. :func:`become_learner` cuts it off from everything but its
socket (its own output file, no other open file, its limits) and makes its
randomness repeatable: ``random``, ``os.urandom`` (so ``uuid.uuid4``,
``secrets`` and ``random.SystemRandom`` too) draw from a generator seeded per
test, so the same submission behaves the same on every run. :func:`serve`
then answers the harness's calls until it leaves. A call that has not answered
for the answer limit is stopped where its code is (:data:`STOP`), so that the
failure can show the learner's line.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import signal
import socket
import sys
from typing import Any

from harness.faults import RunawayLoop
from harness.isolation.limits import Limits, apply
from harness.isolation.rpc import Connection

STOP = signal.SIGUSR1
"""The signal that stops the learner's code where it is: the harness sends it (through the
learner host) when the process has not answered for its answer limit, and the
:class:`~harness.faults.RunawayLoop` it raises there goes back with its traceback."""


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


def become_learner(sock: socket.socket, output: int, limits: Limits, *, seed: int = 0) -> None:
    """Detach from the test process: own process group, own output, no other files, limits."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGXCPU, signal.SIGXFSZ):
        signal.signal(number, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(STOP, _stop_here)
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

    faulthandler.enable(file=sys.stderr)
    repeatable_entropy(seed)
    apply(limits)


def _stop_here(signum: int, frame: object) -> None:
    raise RunawayLoop(
        "your code did not answer for too long, so the harness stopped it here (a loop in "
        "your code never ends)"
    )


def repeatable_entropy(seed: int) -> None:
    """Make every source of randomness a learner's module reaches in Python draw from one
    generator seeded with ``seed``: the same run, every run."""
    import random

    source = random.Random(seed)

    def urandom(size: int) -> bytes:
        if not isinstance(size, int) or size < 0:
            raise ValueError("negative argument not allowed")
        return source.randbytes(size)

    random.seed(seed)
    os.urandom = urandom
    random._urandom = urandom  # SystemRandom, hence secrets, reads it through this name


def _open_fds() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 1024))
