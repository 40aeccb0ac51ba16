"""Running the kit's tests on a sandbox: a subprocess with limits, rerun past a death.

Each run is ``python -m pytest`` in a new session (process group) with:

- a clean environment (``PYTHONHASHSEED=0``, TMPDIR and HOME inside the sandbox,
  no third-party pytest plugins: only the kit's, pytest-timeout and Hypothesis);
- the derandomized ``grading`` Hypothesis profile, no cache, a per-test timeout;
- every test that passed run a second time, identically (``--grader-repeat``);
- CPU-time, address-space and file-size limits (``resource.setrlimit``);
- the wall-clock deadline of the whole grading, after which its process group is killed.

Outcomes come only from the records the kit's plugin writes (``--results-stream``,
``--results-json``), never from the run's output. If the process dies mid-run
(``os._exit``, a signal, a limit), the test it was running gets a clear reason and
the tests it had not reached run again in a new process: a death costs one test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from grader.collector import TAMPERED_EXIT
from grader.errors import GradingError
from grader.sandbox import Sandbox

MEMORY_LIMIT = 4 * 1024**3
"""Address space of a test process, in bytes: an unbounded allocation ends in MemoryError."""
LEARNER_MEMORY_MB = 512
"""Under ``--isolate``: megabytes the learner's process may add to its size."""
FILE_LIMIT = 256 * 1024**2
"""Largest file a test process may write, in bytes."""
POLL = 0.02


def kit_plugins() -> list[str]:
    """The kit's own pytest plugins (entry points in ``harness``), e.g. the isolation layer."""
    found = [ep.value for ep in entry_points(group="pytest11") if ep.value.startswith("harness")]
    return sorted(set(found) | {"harness.pytest_plugin"})


def isolation_available(kit_root: Path) -> bool:
    """Does the kit's plugin offer ``--isolate`` (learner code in a child process)?"""
    return kit_offers(kit_root, "--isolate")


def kit_offers(kit_root: Path, option: str) -> bool:
    """Does the kit's plugin offer the command-line ``option`` (a kit may be older)?"""
    pattern = re.compile(r"""addoption\(\s*["']""" + re.escape(option) + """["']""")
    return any(
        pattern.search(path.read_text(encoding="utf-8", errors="replace"))
        for path in (kit_root / "harness").rglob("*.py")
    )


def isolation_options(test_timeout: float) -> list[str]:
    """``--isolate`` with the learner process's limits: CPU time per test (load does not
    change it), a patient wall-clock wait as the backstop, memory."""
    answer = max(60.0, 6 * test_timeout)
    cpu = max(1, round(test_timeout))
    return [
        "--isolate",
        "--isolate-limits",
        f"answer={answer:g},cpu={cpu},memory={LEARNER_MEMORY_MB}",
    ]


def _limits(cpu_seconds: int, memory: int, cpu: int | None = None) -> None:
    import resource

    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails, not the run
    die_with_parent()


def die_with_parent() -> None:
    """Linux: this process is killed when the grader that started it dies (even by SIGKILL),
    so a killed grader leaves no test process, nor learner host, behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def environment(sandbox: Sandbox) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "VIRTUAL_ENV", "TWM_SANDBOX")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUTF8="1",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        TMPDIR=str(sandbox.tmp),
        HOME=str(sandbox.tmp),
        TWM_SANDBOX=sandbox.mode,
        COLUMNS="100",
    )
    return env


def pytest_command(sandbox: Sandbox, args: list[str]) -> list[str]:
    plugins = [*kit_plugins(), "pytest_timeout", "_hypothesis_pytestplugin", "grader.collector"]
    command = [sys.executable, "-m", "pytest"]
    for plugin in plugins:
        command += ["-p", plugin]
    return command + [
        "-c",
        str(sandbox.kit / "pytest.ini"),
        "--rootdir",
        str(sandbox.kit),
        "--noconftest",  # only the kit's own plugins: no conftest.py, wherever it came from
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
        "-q",
        "--tb=no",
        "--no-header",
        *args,
    ]


@dataclass
class Death:
    """How a test process ended early, in words for the test it was running."""

    status: str
    message: str


def death_of(returncode: int) -> Death:
    if returncode == -signal.SIGXCPU:
        return Death("timeout", "timed out: the test process used up its CPU-time limit")
    if returncode == -signal.SIGKILL:
        return Death("error", "the test process was killed (SIGKILL; out of memory?)")
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return Death("error", f"the test process died of signal {name} during this test")
    return Death(
        "error",
        f"the test process exited (status {returncode}) during this test: "
        "learner code ended the interpreter (os._exit or similar)",
    )


@dataclass(eq=False)  # a lane is itself: compared by identity
class Lane:
    """The tests of one run (visible or hidden), run and rerun until each has an outcome."""

    name: str
    sandbox: Sandbox
    tests: list[str] | None
    """The node ids to score; None until the plan is known (``first`` runs meanwhile)."""
    args: list[str]
    """Extra pytest options (e.g. ``--hidden-traces DIR``)."""
    target: Path | None = None
    """The learner modules to test; default: the sandbox's (the submission's)."""
    reference: bool = True
    """For a probe: is the target the kit's reference solutions (else its stubs)?"""
    first: list[str] = field(default_factory=list)
    """What the first run is given (chapter folders), when it starts before the plan is known."""
    repeat: bool = True
    """Run each test that passed a second time, identically, and score a different outcome
    as nondeterministic (``--grader-repeat``); a probe of the reference need not."""
    cpu: int | None = None
    """The one CPU this lane's test process, and the learner processes it starts, run on
    (None: any). Under ``--isolate`` each port call is a round trip between the two; on one
    CPU it is a direct switch from one to the other, not a wake-up across cores."""
    records: dict[str, dict] = field(default_factory=dict)
    attempt: int = 0
    process: subprocess.Popen | None = None

    @property
    def pending(self) -> list[str]:
        return [t for t in self.tests or () if t not in self.records]

    def _files(self) -> tuple[Path, Path, Path]:
        base = self.sandbox.private / f"{self.name}-{self.attempt}"
        return base.with_suffix(".jsonl"), base.with_suffix(".json"), base.with_suffix(".log")

    def start(self, *, deadline: float, test_timeout: float, isolate: bool) -> None:
        self.attempt += 1
        if self.attempt > 1:
            self.sandbox.restore()  # nothing the last attempt left in the tree reaches this one
        stream, results, log = self._files()
        args = [
            *self.args,
            "--target",
            str(self.target or self.sandbox.target),
            "--hypothesis-profile",
            "grading",
            "--results-stream",
            str(stream),
            "--results-json",
            str(results),
            "--grader-test-timeout",
            f"{test_timeout:g}",
            *(isolation_options(test_timeout) if isolate else []),
            # A grade needs no pictures: drawing one replays its failing case once more.
            *(["--no-pictures"] if kit_offers(self.sandbox.kit, "--no-pictures") else []),
            *(["--grader-repeat"] if self.repeat else []),
            *[str(self.sandbox.kit / test) for test in self._selection()],
        ]
        cpu = max(1, int(deadline - time.monotonic()) + 1)
        with open(log, "wb") as output:
            self.process = subprocess.Popen(
                pytest_command(self.sandbox, args),
                cwd=self.sandbox.work,
                env=environment(self.sandbox),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=lambda: _limits(cpu, MEMORY_LIMIT, self.cpu),
            )

    def _selection(self) -> list[str]:
        if self.tests is None or (self.attempt == 1 and self.first):
            return self.first
        return self.pending

    @property
    def waiting(self) -> bool:
        """Has it tests to run, or is its plan still unknown?"""
        return self.tests is None or bool(self.pending)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()

    def finish(self, *, deadline_passed: bool, budget: float) -> bool:
        """Take the records of the run that ended; return True if a rerun is needed."""
        assert self.process is not None
        returncode = self.process.wait()
        stream, results, _ = self._files()
        started = self._read(stream)
        if results.is_file():  # the run completed: its full record is the reference
            self._take(json.loads(results.read_text(encoding="utf-8")).get("tests", []))
        pending = self.pending
        if not pending:
            return False
        if deadline_passed:
            running = started[-1] if started and started[-1] in pending else None
            for test in pending:
                why = "timed out" if test == running else "not run"
                self.records[test] = {
                    "status": "timeout",
                    "message": f"{why}: the submission used up its {budget:g} s of wall-clock time",
                }
            return False
        running = started[-1] if started and started[-1] in pending else None
        if running is None and returncode == TAMPERED_EXIT:
            return True  # the tampered test has its record; the rest run in a fresh process
        if running is None and not started:
            # No learner code runs before a test starts (the sandbox has no conftest of
            # theirs; modules load inside tests): a run that starts none is the kit's fault.
            raise GradingError(
                f"the kit's own tests did not run (exit status {returncode}){self._last_words()}"
            )
        if running is None:  # it ended between two tests (after recording one)
            if self.attempt > len(self.tests or ()):
                raise GradingError(f"the kit's own tests keep ending early{self._last_words()}")
            return True  # the rest run in a fresh process
        death = death_of(returncode)
        self.records[running] = {"status": death.status, "message": death.message}
        return bool(self.pending)

    def finish_unstarted(self, budget: float) -> None:
        for test in self.pending:
            self.records[test] = {
                "status": "timeout",
                "message": f"not run: the submission used up its {budget:g} s of wall-clock time",
            }

    def _last_words(self) -> str:
        """The last line the run printed (pytest's own usage errors land there)."""
        log = self._files()[2]
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return f"; it said: {self.sandbox.clean(lines[-1])[:300]}" if lines else ""

    def _read(self, stream: Path) -> list[str]:
        """Take the outcomes recorded in ``stream``; return the tests started, in order."""
        started: list[str] = []
        if not stream.is_file():
            return started
        records = []
        for line in stream.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # the last line of a killed run may be cut short
            if isinstance(record, dict) and "started" in record:
                started.append(record["started"])
            else:
                records.append(record)
        self._take(records)
        return started

    def _take(self, records: list) -> None:
        for record in records:
            if not isinstance(record, dict):
                continue
            test = record.get("id")
            override = record.get("override") is True  # the grader's own plugin's verdict
            if test in (self.tests or ()) and (test not in self.records or override):
                self.records[test] = record


def run_lanes(
    lanes: list[Lane],
    *,
    deadline: float,
    budget: float,
    test_timeout: float,
    isolate: bool,
    then: Callable[[Lane], Lane | None] | None = None,
    plan: Callable[[Lane], list[str]] | None = None,
) -> None:
    """Run every lane at once (one process each), rerunning past deaths, until all are done.

    ``plan(lane)`` gives the tests of a lane started before they were known (it may wait
    for the collection); ``then(lane)`` is called when a lane is done and may return a
    lane to start next.
    """
    active = [lane for lane in lanes if lane.waiting]
    for lane in active:
        lane.start(deadline=deadline, test_timeout=test_timeout, isolate=isolate)
    while active:
        time.sleep(POLL)
        passed = time.monotonic() >= deadline
        for lane in list(active):
            if passed:
                lane.kill()
            elif lane.process.poll() is None:
                continue
            if lane.tests is None:
                lane.tests = plan(lane) if plan else []
            if lane.finish(deadline_passed=passed, budget=budget):
                lane.start(deadline=deadline, test_timeout=test_timeout, isolate=isolate)
                continue
            active.remove(lane)
            follow = then(lane) if then else None
            if follow is not None and follow.waiting:
                if passed:
                    follow.finish_unstarted(budget)
                else:
                    follow.start(deadline=deadline, test_timeout=test_timeout, isolate=isolate)
                    active.append(follow)
