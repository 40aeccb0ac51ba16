"""The limits of a learner's process, and what keeps it out of the test process.

Each test's learner process gets its own limits (:class:`Limits`): how long
the harness waits for an answer, CPU time, memory and output. A limit never
goes above what the test process itself was given (a grader may set tighter
ones). :func:`harden` keeps learner processes from reading or writing the
test process's memory.

>>> Limits()
Limits(answer=10.0, cpu=30, memory=512, output=16)
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What the learner's process may use (each test gets a fresh process)."""

    answer: float = 10.0
    """Seconds the harness waits for the learner's process to say anything, then stops it."""
    cpu: int = 30
    """CPU seconds the learner's process may use (RLIMIT_CPU)."""
    memory: int = 512
    """Megabytes of address space the process may add to its size at start (RLIMIT_AS)."""
    output: int = 16
    """Megabytes the process may write to its stdout and stderr together (RLIMIT_FSIZE)."""

    @classmethod
    def parse(cls, spec: str) -> Limits:
        """Limits from ``"answer=10,cpu=30,memory=512,output=16"`` (any subset; the rest default).

        >>> Limits.parse("cpu=5").cpu
        5
        """
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, _, number = part.partition("=")
            name = name.strip()
            if name not in ("answer", "cpu", "memory", "output"):
                raise ValueError(
                    f"--isolate-limits: unknown limit {name!r} in {spec!r}; the limits are "
                    "answer (s), cpu (s), memory (MB) and output (MB), e.g. 'cpu=30,memory=512'"
                )
            try:
                values[name] = float(number) if name == "answer" else int(number)
            except ValueError:
                raise ValueError(
                    f"--isolate-limits: {name} needs a number, got {number!r} in {spec!r}"
                ) from None
        return cls(**values)

    def __post_init__(self) -> None:
        for name in ("answer", "cpu", "memory", "output"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(
                    f"the isolation limit {name} must be a positive number, got {value!r}"
                )


def apply(limits: Limits) -> None:
    """Take ``limits`` in this process (the learner's, just forked)."""
    import resource  # POSIX only: imported where forking is possible

    megabyte = 1024 * 1024
    _cap(resource.RLIMIT_CORE, 0)
    _cap(resource.RLIMIT_CPU, int(limits.cpu), grace=5)
    _cap(resource.RLIMIT_FSIZE, limits.output * megabyte)
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
        start = pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return  # no /proc: no memory limit rather than a wrong one
    _cap(resource.RLIMIT_AS, start + limits.memory * megabyte)


def _cap(which: int, soft: int, *, grace: int = 0) -> None:
    """Lower a limit to ``soft`` (hard: ``soft + grace``), never above what was inherited."""
    import resource

    _, inherited = resource.getrlimit(which)
    hard = soft + grace
    if inherited != resource.RLIM_INFINITY:
        soft, hard = min(soft, inherited), min(hard, inherited)
    with contextlib.suppress(ValueError, OSError):  # a limit this platform lacks is no limit
        resource.setrlimit(which, (soft, hard))


def harden() -> None:
    """Keep learner processes out of the test process's memory (Linux: not ptrace-able).

    A process of the same user could otherwise read or write the test
    process's memory through ``/proc/PID/mem``; a non-dumpable process
    refuses that to anyone without CAP_SYS_PTRACE.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
