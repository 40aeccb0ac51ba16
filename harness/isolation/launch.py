"""Starting the learner host and talking to it, from the test process.

:class:`Host` starts ``python -I -S`` (wrapped in bubblewrap where it works,
see :mod:`harness.isolation.sandbox`) running :func:`harness.isolation.host.main`,
and keeps it for every test of this test process that uses the same root. A
host that died (learner code may kill its own host) is replaced by a fresh
one at the next test; a host that stops answering is killed. :func:`renew_running`
lets the next test's learner process come from a host that has served none
(a fork of the host's pristine copy, see :mod:`harness.isolation.host`). The
host and everything it started die when the test process ends.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from harness.isolation import sandbox
from harness.isolation.limits import Limits

_running: dict[str, Host] = {}
"""The learner host of this test process, if one runs (one at a time)."""
ANSWER = 20.0
"""Seconds the host may take to answer a request (it forks, kills, reaps: milliseconds)."""
START = 60.0
"""Seconds the host may take to start (it loads the harness and freezegun once)."""
GRACE = 1.0
"""Seconds a closed host may take to end on its own (it sweeps its processes and exits in
milliseconds) before it is killed. Ending on its own, every process of it is waited for by
its parent, so the CPU time of the learner's side reaches ``getrusage(RUSAGE_CHILDREN)`` of
the test process and of whoever waits for it (the grader, a benchmark); a killed sandbox
takes that time with it."""
BOOTSTRAP = (
    "import sys; sys.path[:] = {paths!r} + [p for p in sys.path if p]; "
    "from harness.isolation.host import main; main(sys.argv[1], int(sys.argv[2]))"
)


class HostLost(Exception):
    """The learner host ended or stopped answering (learner code may have killed it)."""


def describe_root(root: Any) -> tuple[list, list[Path]]:
    """How the host rebuilds ``root``, and the files it must see to do it."""
    from harness.targets import Target

    if isinstance(root, Target):
        return ["target", str(root.root), root.label], [Path(root.root)]
    cls = type(root)
    module = sys.modules[cls.__module__]
    file = Path(module.__file__).resolve()
    return ["object", cls.__module__, str(file), cls.__qualname__], [file.parent]


class Host:
    """One learner host process, and its control socket."""

    def __init__(self, spec: list, visible: list[Path]) -> None:
        self.spec = spec
        self._buffer = b""
        self.namespace = sandbox.use_bubblewrap()
        account = sandbox.usable_account(visible, namespace=self.namespace)
        self.tmp: Path | None = None
        if not self.namespace:
            self.tmp = Path(tempfile.mkdtemp(prefix="twm-learner-"))
            if account is not None:
                os.chown(self.tmp, account.uid, account.gid)
        settings = {
            "root": spec,
            "tmp": "/tmp" if self.namespace else str(self.tmp),
            "parent": os.getpid(),
            "namespace": self.namespace,
            "account": None if account is None else {"uid": account.uid, "gid": account.gid},
        }
        ours, theirs = socket.socketpair()
        paths = [str(p) for p in sandbox.import_roots()]
        # -E -s -S: no PYTHON* variables, no site packages (the environment is ours anyway,
        # but for PYTHONHASHSEED, which bubblewrap sets again inside).
        command = [sandbox.interpreter(), "-s", "-S", "-c", BOOTSTRAP.format(paths=paths)]
        command += [json.dumps(settings), str(theirs.fileno())]
        if self.namespace:
            command = sandbox.bubblewrap_command(visible, as_root=account is not None) + command
        self.log = tempfile.TemporaryFile()
        environment = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"} | sandbox.REPEATABLE
        if self.tmp is not None:
            environment |= {"TMPDIR": str(self.tmp), "HOME": str(self.tmp)}
        try:
            self.process = subprocess.Popen(
                command,
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=self.log,
                stderr=self.log,
                env=environment,
                cwd=str(self.tmp) if self.tmp is not None else "/",
                start_new_session=True,
                preexec_fn=sandbox.fixed_addresses,
            )
        except OSError as error:
            raise HostLost(f"the learner host could not start ({error})") from None
        finally:
            theirs.close()
        self.control = ours
        try:
            self._answer(START)
        except HostLost as lost:
            self.close()
            raise HostLost(f"{lost}{self._last_words()}") from None

    @classmethod
    def for_root(cls, root: Any) -> Host:
        """The running host for ``root``, started (or restarted) when needed."""
        spec, visible = describe_root(root)
        current = _running.get("host")
        if current is not None and (current.spec != spec or not current.alive):
            current.close()
            current = None
        if current is None:
            current = _running["host"] = Host(spec, visible)
        return current

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    # -- requests ---------------------------------------------------------------------------

    def spawn(self, limits: Limits, learner: socket.socket, output: IO, *, seed: int) -> int:
        """A new learner process for one test; its pid (in the host's namespace)."""
        request = {"op": "spawn", "limits": dataclasses.asdict(limits), "seed": seed}
        answer = self._request(request, fds=[learner.fileno(), output.fileno()])
        return int(answer["pid"])

    def end(self, pid: int) -> int | None:
        """Kill learner process ``pid`` and everything started since; its exit status."""
        try:
            return self._request({"op": "end", "pid": pid}).get("status")
        except HostLost:
            self.close()  # its whole namespace (or its sweep-less remains) goes with it
            return None

    def poll(self, pid: int) -> int | None:
        """The exit status of ``pid`` if it has ended, else None."""
        try:
            return self._request({"op": "poll", "pid": pid}).get("status")
        except HostLost:
            self.close()
            return None

    def renew(self) -> None:
        """Let a pristine copy of the host serve from now on: the serving copy sweeps its
        processes and ends, and the copy kept from the host's start forks the next one. A
        host that cannot is closed, and the next test starts a new one."""
        try:
            renewed = "ready" in self._request({"op": "renew"})  # the new copy's first line
        except HostLost:
            renewed = False
        if not renewed:
            self.close()

    def interrupt(self, pid: int) -> bool:
        """Ask learner process ``pid`` to stop its code where it is; whether it was signalled."""
        try:
            return bool(self._request({"op": "interrupt", "pid": pid}).get("sent"))
        except HostLost:
            self.close()
            return False

    def _request(self, request: dict, *, fds: list[int] | None = None) -> dict:
        if self.control is None:
            raise HostLost("the learner host has ended")
        data = json.dumps(request).encode() + b"\n"
        try:
            if fds:
                socket.send_fds(self.control, [data], fds)
            else:
                self.control.sendall(data)
        except OSError:
            raise HostLost("the learner host has ended") from None
        return self._answer(ANSWER)

    def _answer(self, timeout: float) -> dict:
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self.control], [], [], timeout)
            if not ready:
                raise HostLost(f"the learner host did not answer within {timeout:g} s")
            try:
                data = self.control.recv(65536)
            except OSError:
                data = b""
            if not data:
                raise HostLost("the learner host has ended")
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def _last_words(self) -> str:
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()
        return ": " + " / ".join(lines[-3:]) if lines else ""

    def close(self) -> None:
        """End the host and everything in it."""
        if self.control is not None:
            with contextlib.suppress(OSError):
                self.control.close()
            self.control = None
        if self.process.poll() is None:  # no control socket: the host sweeps and ends
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=GRACE)
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.process.pid, 9)
            with contextlib.suppress(OSError):
                self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if _running.get("host") is self:
            del _running["host"]


@atexit.register
def _close_current() -> None:
    host = _running.get("host")
    if host is not None:
        host.close()


def close_running() -> None:
    """End this test process's learner host, if one runs."""
    _close_current()


def renew_running() -> None:
    """Let the next learner process of this test process come from a host that has served
    no test before (:meth:`Host.renew`), if a host runs."""
    host = _running.get("host")
    if host is not None:
        host.renew()
