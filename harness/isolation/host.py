"""The learner host: a fresh interpreter that forks one learner process per test.

The test process starts it (:class:`harness.isolation.child.Host`), inside
the sandbox of :mod:`harness.isolation.sandbox`, with ``python -I -S``: no
site packages, no environment, nothing of the test process's memory,
arguments or open files but one control socket. It loads what speaking to
the ports needs (the harness, freezegun), drops to the learner's account when
started as root, and then serves requests on the control socket, one JSON
line each:

- ``spawn`` (with two file descriptors: the learner's socket and its output
  file): fork a learner process for one test, answer its pid;
- ``end``: kill that process, then every other process started since (the
  sweep: a learner's daemon dies with its test), empty the private temp
  folder, answer the process's exit status;
- ``poll``: the exit status of a learner process if it has ended;
- ``interrupt``: ask a learner process that stopped answering to stop its code where it is
  (:data:`harness.isolation.learner.STOP`), so that its answer says where that was;
- ``renew``: end, and let a pristine copy of the host serve the next test (its first
  answer is its ``ready`` line).

No learner code ever runs in the host itself: a learner process is a fork
of a host that has not loaded any learner module, and closes the control
socket before it loads one.

The host keeps a *pristine copy* of itself. Once it has loaded what it needs
(and dropped to the learner's account), the process that started does not
serve: it forks the copy that does, and waits. When that copy is asked to
``renew`` (the grader's second run of a test, which must not come from a
host that has served the first), it sweeps its processes, empties the temp
folder and exits with :data:`RENEWED`; the pristine copy sweeps again and
forks the next serving copy, in the state the first one started in. That
costs a fork instead of an interpreter's start and its imports (about 0.2 s
of CPU a second run). When the serving copy ends any other way (the test
process closed the control socket, learner code killed it), the pristine
copy ends too, and the test process starts a new host. Under bubblewrap the
pristine copy is the namespace's process 1, which no process inside may
signal; elsewhere, learner code that kills it ends its own host with it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
PRELOAD = (
    "harness.ports",
    "harness.broker",
    "harness.promises",
    "harness.targets",
    "harness.isolation.rpc",
    "harness.isolation.learner",
    "freezegun",
    "resource",
    "faulthandler",
    "traceback",
)
"""What every learner module needs to speak to the ports: loaded once, before any fork."""
RENEWED = 75
"""The serving copy's exit status when asked to ``renew`` (no signal gives an exit status, so
learner code, which may kill the copy, cannot fake it)."""
PROCESS_LIMIT = 64
"""Processes learner code may start at once: the limit of its own account, or, sharing the
grader's account, this many more than that account had when the host started."""


def _prctl(option: int, value: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def load_root(spec: list) -> Any:
    """The object a learner process serves first: a target tree, or (for the kit's own tests)
    an object made from a class found by module name and file."""
    if spec[0] == "target":
        from harness.targets import Target

        return Target(Path(spec[1]), spec[2])
    import importlib.util

    _, name, file, attribute = spec
    module = sys.modules.get(name)
    if module is None:
        found = importlib.util.spec_from_file_location(name, file)
        assert found is not None and found.loader is not None
        module = importlib.util.module_from_spec(found)
        sys.modules[name] = module
        found.loader.exec_module(module)
    return getattr(module, attribute)()


class LearnerHost:
    """The host's state: its root, its learner processes, its temp folder."""

    def __init__(self, control: socket.socket, settings: dict) -> None:
        self.control = control
        self.settings = settings
        self.root = load_root(settings["root"])
        self.tmp = Path(settings["tmp"])
        self.account = settings.get("account")
        self.process_limit = (
            PROCESS_LIMIT if self.account else _processes_of(os.getuid()) + PROCESS_LIMIT
        )
        self.children: dict[int, int | None] = {}
        self.pristine: int | None = None
        """The pid of the pristine copy that forked this one, which the sweep spares."""
        self._buffer = b""

    def keep_pristine(self) -> None:
        """Serve from copies of this process, each forked before it serves anything: a new one
        each time the last ends asking for it (:data:`RENEWED`); end when one ends otherwise.
        This process is the subreaper of its copies' orphans (see :func:`main`)."""
        while True:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the serving copy, which never returns
                code = 70
                try:
                    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the pristine copy
                    _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # not inherited by a fork
                    self.pristine = os.getppid()
                    code = RENEWED if self.serve() else 0
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            self._sweep()  # whatever the serving copy's sweep missed, and its orphans
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == RENEWED):
                return
            self._clean_tmp()

    # -- requests ---------------------------------------------------------------------------

    def serve(self) -> bool:
        """Answer requests until the test process closes the control socket (False) or asks
        for a renewed host (True); either way, every process started meanwhile is gone."""
        self._send({"ready": os.getpid()})
        while True:
            request, fds = self._receive()
            if request is None:
                self._sweep()
                return False
            op = request.get("op")
            if op == "renew":
                self._sweep()
                self._clean_tmp()
                return True
            if op == "spawn":
                self._send({"pid": self._spawn(request, fds)})
            elif op == "end":
                self._send({"status": self._end(int(request["pid"]))})
            elif op == "poll":
                self._send({"status": self._poll(int(request["pid"]))})
            elif op == "interrupt":
                self._send({"sent": self._interrupt(int(request["pid"]))})
            else:
                self._send({"error": f"unknown request {op!r}"})

    def _receive(self) -> tuple[dict | None, list[int]]:
        fds: list[int] = []
        while b"\n" not in self._buffer:
            try:
                data, more, _, _ = socket.recv_fds(self.control, 65536, 4)
            except OSError:
                return None, []
            if not data:
                return None, []
            fds += more
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line), fds

    def _send(self, answer: dict) -> None:
        self.control.sendall(json.dumps(answer).encode() + b"\n")

    # -- learner processes ------------------------------------------------------------------

    def _spawn(self, request: dict, fds: list[int]) -> int:
        from harness.isolation.limits import Limits

        limits = Limits(**request["limits"])
        learner, output = fds
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the learner process, which never returns
            code = 70  # EX_SOFTWARE: the learner process's own machinery failed
            try:
                self.control.close()
                _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the host
                with contextlib.suppress(OSError):
                    os.setpgid(0, 0)
                sock = socket.socket(fileno=learner)
                from harness.isolation import learner as side

                _limit_processes(self.process_limit)
                side.become_learner(sock, output, limits, seed=int(request.get("seed", 0)))
                side.serve(sock, self.root)
                code = 0
            except MemoryError:
                code = 71  # out of memory outside the learner's calls (see child._EXIT_MEMORY)
            except BaseException:
                import traceback

                with contextlib.suppress(BaseException):
                    traceback.print_exc()
            finally:
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(BaseException):
                        stream.flush()
                os._exit(code)
        os.close(learner)
        os.close(output)
        self.children[pid] = None
        return pid

    def _poll(self, pid: int) -> int | None:
        self._reap()
        return self.children.get(pid)

    def _interrupt(self, pid: int) -> bool:
        """Signal learner process ``pid``, if it is one of ours and still runs."""
        from harness.isolation.learner import STOP

        self._reap()
        if pid not in self.children or self.children[pid] is not None:
            return False
        try:
            os.kill(pid, STOP)
        except OSError:
            return False
        return True

    def _end(self, pid: int) -> int | None:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        self._sweep()
        status = self.children.pop(pid, None)
        self._clean_tmp()
        return status

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children and self.children[pid] is None:
                self.children[pid] = status

    def _sweep(self) -> None:
        """Kill every process started since this host began (learner processes and whatever
        they started), then reap them."""
        for _ in range(50):
            others = _others(
                os.getpid(),
                inside_namespace=self.settings.get("namespace", False),
                spare=self.pristine,
            )
            for pid in others:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            for pid in [p for p, s in self.children.items() if s is None]:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
            time.sleep(0.001 if others else 0)
            self._reap()
            if not others:
                break
        self._reap()

    def _clean_tmp(self) -> None:
        for entry in list(self.tmp.iterdir()) if self.tmp.is_dir() else []:
            with contextlib.suppress(OSError):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()


def living_parents() -> dict[int, int]:
    """Every living (not zombie) process and its parent, from /proc (empty without /proc)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return {}
    parents: dict[int, int] = {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != b"Z":
            parents[int(name)] = int(fields[1])
    return parents


def descendants(pid: int, parents: dict[int, int] | None = None) -> set[int]:
    """Every living process below ``pid``."""
    parents = living_parents() if parents is None else parents
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found - {pid}


def _others(me: int, *, inside_namespace: bool, spare: int | None = None) -> list[int]:
    """The processes to sweep: in the host's own PID namespace, all but the host, the
    pristine copy ``spare`` and the namespace's process 1 (the pristine copy itself, under
    bubblewrap); elsewhere, the host's descendants (orphans come back to the host, which is
    their subreaper)."""
    parents = living_parents()
    if inside_namespace:
        return sorted(pid for pid in parents if pid not in (me, 1, spare))
    return sorted(descendants(me, parents))


def _processes_of(uid: int) -> int:
    """How many processes ``uid`` has now (0 where /proc cannot tell)."""
    count = 0
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            with contextlib.suppress(OSError):
                if name.isdigit() and os.stat(f"/proc/{name}").st_uid == uid:
                    count += 1
    return count


def _limit_processes(limit: int) -> None:
    import resource

    _, inherited = resource.getrlimit(resource.RLIMIT_NPROC)
    if inherited != resource.RLIM_INFINITY:
        limit = min(limit, inherited)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))


def _drop_privileges(account: dict) -> None:
    """Become the learner's account for good: groups, gid, uid (the kernel then clears every
    capability), and no way back through a set-user-id program."""
    os.setgroups([])
    if hasattr(os, "setresuid"):
        os.setresgid(account["gid"], account["gid"], account["gid"])
        os.setresuid(account["uid"], account["uid"], account["uid"])
    else:  # macOS: setgid and setuid as root set the real, effective and saved ids
        os.setgid(account["gid"])
        os.setuid(account["uid"])
    if os.getuid() == 0 or os.geteuid() == 0:  # pragma: no cover - a kernel that refused
        raise SystemExit("the learner host could not leave the root account")
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)


def main(settings_json: str, control_fd: int) -> None:
    """Run the host: the bootstrap line the test process starts calls this."""
    settings = json.loads(settings_json)
    control = socket.socket(fileno=control_fd)
    parent = int(settings["parent"])
    for name in PRELOAD:
        __import__(name)
    random.seed(0)
    host = LearnerHost(control, settings)
    if settings.get("account"):
        _drop_privileges(settings["account"])
    _prctl(_PR_SET_DUMPABLE, 0)  # no learner process may read or write the host's memory
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if not settings.get("namespace") and os.getppid() != parent:
        return  # the test process is already gone
    # No handler of Python's own: a process 1 takes, from inside its namespace, only the
    # signals it handles, so under bubblewrap no learner process can signal this one.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    gc.collect()
    gc.freeze()  # the learner processes share the host's pages instead of copying them
    host.keep_pristine()
