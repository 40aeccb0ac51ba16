"""No process outlives the grading that started it.

The grader makes itself the *subreaper* of everything it starts (Linux): a
process whose parent dies is handed to the grader, not to init, so a daemon
that learner code started (double fork, ``setsid``) stays findable.
:func:`leftovers` lists the grader's descendants that were not there before,
and :func:`kill_leftovers` kills them, so results are written only once every
learner process is gone. Elsewhere (macOS) both do nothing: the sandbox's
process sweep is what remains.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Adopt this process's orphaned descendants; False where the OS cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def descendants(pid: int | None = None) -> set[int]:
    """Every living process below ``pid`` (default: this one), from /proc."""
    from harness.isolation.host import descendants as below

    return below(os.getpid() if pid is None else pid)


def kill_leftovers(before: set[int], *, patience: float = 5.0) -> list[int]:
    """Kill every descendant not in ``before`` until none is left; return those killed."""
    killed: list[int] = []
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        left = sorted(descendants() - before)
        if not left:
            break
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            if pid not in killed:
                killed.append(pid)
        time.sleep(0.01)
        _reap(set(left))
    return killed


def _reap(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
