"""``grader watch``: your current task's tests, run again on every save, until the course is done.

It starts on the task you name, or on your next unfinished one, and runs its
tests (``pytest exercises/chNN --task N``, the same failure reports). When you
save a Python file under ``exercises/`` it runs them again; when they all
pass it moves on to the next unfinished task and runs that. A bar over the
course shows the tasks done and the points earned, as ``grader progress``
counts them. Keys, at any moment:

    h  the next hint of the task (as ``grader hint``)
    l  every task and its state (as ``grader list``)
    s  step through the last failure in the browser (as ``grader show``)
    r  run the tests again now
    q  quit (so does Ctrl-C)

The keys need a terminal; with none (a pipe), it still runs and reruns, and
Ctrl-C ends it. Saves are seen with the ``watchfiles`` package.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import select
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader import hints, progress
from grader.errors import GradingError
from grader.hints import find_root, load_manifest
from harness.manifest import Manifest, Task

KEYS = "h hint · l list · s show the failure · r run again · q quit"
QUIT = ("q", "Q", "\x04")
BAR_WIDTH = 30
POLL_SECONDS = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "task",
        nargs="?",
        default=None,
        metavar="chNN.N",
        help="the task to start on (default: your next unfinished task)",
    )
    parser.add_argument(
        "--path", type=Path, default=None, help="your checkout of the kit (default: found from .)"
    )


@dataclass
class Outcome:
    """One run of a task's tests."""

    passed: int
    tests: int
    code: int
    results: list[dict]

    @property
    def done(self) -> bool:
        return self.tests > 0 and self.passed == self.tests and self.code == 0


def bar(tasks: list[progress.TaskProgress]) -> str:
    """The course as a bar: tasks done of all, and points earned of possible."""
    done = sum(task.done for task in tasks)
    filled = round(BAR_WIDTH * done / len(tasks)) if tasks else 0
    earned = sum(task.points for task in tasks)
    possible = sum(task.max_points for task in tasks)
    return (
        f"[{'█' * filled}{'░' * (BAR_WIDTH - filled)}] {done}/{len(tasks)} tasks · "
        f"{earned:g}/{possible:g} points"
    )


def run_task(root: Path, task: Task, stop: threading.Event) -> Outcome:
    """Run ``task``'s tests with their output on this terminal; stop early when ``stop`` is set."""
    with tempfile.TemporaryDirectory(prefix="twm-watch-") as tmp:
        results = Path(tmp) / "results.json"
        command = [sys.executable, "-m", "pytest", f"exercises/{task.chapter}"]
        command += [f"--task={task.number}", "--results-json", str(results), "-q"]
        command += ["-p", "no:cacheprovider", "-rN"]  # the failures, without pytest's summary
        child = subprocess.Popen(command, cwd=root, stdin=subprocess.DEVNULL)
        while child.poll() is None:
            if stop.wait(POLL_SECONDS):
                child.kill()
                child.wait()
                return Outcome(0, 0, -1, [])
        try:
            tests = json.loads(results.read_text(encoding="utf-8"))["tests"]
        except (OSError, ValueError, KeyError):
            tests = []
    mine = [t for t in tests if t.get("task") == task.number]
    passed = sum(t.get("status") == "passed" for t in mine)
    return Outcome(passed, len(mine), child.returncode, mine)


def _saves(root: Path, events: queue.Queue, stop: threading.Event) -> None:
    """Put a "save" on ``events`` whenever a Python file under exercises/ changes."""
    import watchfiles

    def python_files(_change: object, path: str) -> bool:
        return path.endswith(".py") and "__pycache__" not in path

    for _changes in watchfiles.watch(
        root / "exercises",
        watch_filter=python_files,
        stop_event=stop,
        rust_timeout=500,
        yield_on_timeout=False,
        debounce=400,
        raise_interrupt=False,
    ):
        events.put("save")


@contextmanager
def keys(events: queue.Queue, stop: threading.Event) -> Iterator[bool]:
    """Put each key pressed on ``events`` while inside; yields whether keys can be read."""
    if not sys.stdin.isatty():
        yield False
        return
    try:
        import termios
        import tty
    except ImportError:  # Windows: msvcrt reads one key at a time
        reader = threading.Thread(target=_windows_keys, args=(events, stop), daemon=True)
        reader.start()
        yield True
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def read() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], POLL_SECONDS)
            if ready:
                key = os.read(fd, 1).decode(errors="replace") or "q"  # "": the terminal went
                events.put(key)
                if key in QUIT:
                    stop.set()  # ends a run under way at once
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield True
    finally:
        stop.set()
        reader.join(1)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _windows_keys(events: queue.Queue, stop: threading.Event) -> None:  # pragma: no cover
    import msvcrt

    while not stop.is_set():
        if msvcrt.kbhit():
            key = msvcrt.getwch()
            events.put(key)
            if key in QUIT:
                stop.set()
        else:
            stop.wait(POLL_SECONDS)


def next_task(manifest: Manifest, tasks: list[progress.TaskProgress], after: Task) -> Task | None:
    """The first unfinished task after ``after`` in course order, wrapping round; None when
    every task is done."""
    order = [(t.chapter, t.number) for t in tasks]
    unfinished = {(t.chapter, t.number) for t in tasks if not t.done}
    here = (
        order.index((after.chapter, after.number)) if (after.chapter, after.number) in order else -1
    )
    for chapter, number in order[here + 1 :] + order[: here + 1]:
        if (chapter, number) in unfinished:
            return manifest.task(chapter, number)
    return None


class Watch:
    """The loop: run, wait for a save or a key, run again; move on when the task is done."""

    def __init__(self, root: Path, manifest: Manifest, task: Task) -> None:
        self.root, self.manifest, self.task = root, manifest, task
        self.events: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.tty = sys.stdout.isatty()

    def say(self, text: str = "") -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def header(self, tasks: list[progress.TaskProgress], with_keys: bool) -> None:
        if self.tty:
            sys.stdout.write("\x1b[2J\x1b[H")  # a clean screen for each run
        self.say(f"grader watch · {bar(tasks)}")
        self.say(f"{self.task.id} · {self.task.title} · exercises/{self.task.module}")
        self.say(KEYS if with_keys else "Ctrl-C to quit (keys need a terminal)")
        self.say()

    def run_and_report(self, with_keys: bool) -> None:
        """Run the current task; while it passes, move on to the next and run that."""
        while True:
            tasks, _ = progress.collect(self.root, run=False)
            self.header(tasks, with_keys)
            key = progress.fingerprint(self.root, self.task.chapter)
            outcome = run_task(self.root, self.task, self.stop)
            if self.stop.is_set():
                return
            progress.remember(self.root, self.task.chapter, self.task.number, outcome.results, key)
            if not outcome.done:
                self.say()
                self.say(
                    f"{self.task.id}: {outcome.passed} of {outcome.tests} tests pass · "
                    f"waiting for your next save · {KEYS if with_keys else 'Ctrl-C to quit'}"
                )
                return
            tasks, _ = progress.collect(self.root)  # runs the chapter's other changed tasks
            upcoming = next_task(self.manifest, tasks, self.task)
            self.say()
            if upcoming is None:
                self.say(f"✓ {self.task.id} done · {bar(tasks)}")
                self.say("every task of the course is done. q to quit")
                return
            self.say(f"✓ {self.task.id} done; next: {upcoming.id} · {upcoming.title}")
            self.task = upcoming

    def show_hint(self) -> None:
        shown, new = hints.reveal(self.root, self.task)
        self.say()
        sys.stdout.write(hints.format_hints(self.task, shown, new))
        sys.stdout.flush()

    def show_list(self) -> None:
        from grader import listing

        self.say()
        listing.render(self.root, run=False)

    def show_failure(self) -> None:
        from grader import show

        self.say()
        try:
            page = show.choose(self.root, None)
        except GradingError as error:
            self.say(str(error))
            return
        address = page.resolve().as_uri()
        opened = show.open_in_browser(address)
        self.say(f"opened {address}" if opened else f"no browser could be started: {address}")

    def loop(self) -> int:
        saves = threading.Thread(target=_saves, args=(self.root, self.events, self.stop))
        saves.daemon = True
        saves.start()
        try:
            with keys(self.events, self.stop) as with_keys:
                self.run_and_report(with_keys)
                while True:
                    event = self.events.get()
                    if event in QUIT:
                        self.say("bye: your work is saved where you saved it")
                        return 0
                    if event in ("save", "r", "R"):
                        self._drain_saves()
                        self.run_and_report(with_keys)
                    elif event in ("h", "H"):
                        self.show_hint()
                    elif event in ("l", "L"):
                        self.show_list()
                    elif event in ("s", "S"):
                        self.show_failure()
        except KeyboardInterrupt:
            self.say()
            self.say("bye: your work is saved where you saved it")
            return 0
        finally:
            self.stop.set()

    def _drain_saves(self) -> None:
        """One run for a burst of saves (an editor writes several files at once)."""
        kept = []
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            if event != "save":
                kept.append(event)
        for event in kept:
            self.events.put(event)


def run(args: argparse.Namespace) -> int:
    root = find_root(args.path)
    if not progress.chapters_with_tests(root):
        raise GradingError(f"{root}/exercises has no chapter with tests")
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        raise GradingError(
            "grader watch needs the watchfiles package: pip install watchfiles "
            '(or pip install -e ".[dev]" again in your checkout)'
        ) from None
    manifest = load_manifest(root)
    if args.task is not None:
        task = hints.resolve_task(manifest, args.task, root)
    else:
        tasks, _ = progress.collect(root)
        upcoming = next((t for t in tasks if not t.done), None)
        if upcoming is None:
            print(f"every task of the course is done · {bar(tasks)}")
            return 0
        task = manifest.task(upcoming.chapter, upcoming.number)
    return Watch(root, manifest, task).loop()
