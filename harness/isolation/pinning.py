"""One CPU for a test process and the learner host it starts, under ``--isolate``.

Every port call under ``--isolate`` is a round trip between the test process
and the learner process. On one CPU the round trip is a switch from one
process to the other; on two, each side is woken on its own core, and in ch03
that costs about a quarter more time and CPU (docs/performance.md). The grader
already gives each of its lanes one CPU (``grader/affinity.py``). A test
process that may run on several, as ``pytest --isolate`` typed by hand, keeps
itself on one before its first test, so that the learner host it starts, and
every learner process, inherit it: a pytest-xdist worker ``gwN`` the N-th of
its CPUs, round robin, so that workers do not share one; any other process
the CPU it is on. A pytest-xdist controller runs no test, so it keeps every
CPU for the workers it starts. The session gives the CPUs back when it ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence


def one_cpu(allowed: Sequence[int], *, worker: str | None, current: int | None) -> int | None:
    """The CPU to keep to, of ``allowed``: None when there is nothing to choose.

    >>> one_cpu([0, 1, 2], worker="gw4", current=0), one_cpu([0, 1], worker=None, current=1)
    (1, 1)
    >>> one_cpu([3], worker=None, current=3), one_cpu([0, 1], worker=None, current=None)
    (None, 0)
    """
    if len(allowed) <= 1:
        return None  # already on one CPU (a grader's lane), or nothing to say
    if worker and worker.startswith("gw") and worker[2:].isdigit():
        return sorted(allowed)[int(worker[2:]) % len(allowed)]
    return current if current in allowed else sorted(allowed)[0]


def _current_cpu() -> int | None:
    """The CPU this process last ran on (Linux: field 39 of /proc/self/stat)."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[36])
    except (OSError, IndexError, ValueError):
        return None


def keep_to_one_cpu() -> set[int] | None:
    """Keep this process on one CPU (see the module); the CPUs it had, to give back with
    :func:`give_back`, or None when nothing changed (a system without affinity, one CPU)."""
    if not hasattr(os, "sched_getaffinity"):
        return None  # macOS, Windows: the system places the processes
    allowed = os.sched_getaffinity(0)
    cpu = one_cpu(
        sorted(allowed), worker=os.environ.get("PYTEST_XDIST_WORKER"), current=_current_cpu()
    )
    if cpu is None:
        return None
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return None
    return set(allowed)


def give_back(previous: set[int] | None) -> None:
    """Let this process run on ``previous`` again (what :func:`keep_to_one_cpu` returned)."""
    if previous:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, previous)
