"""``grader watch`` in a real terminal (a pty): runs the task, reruns on save, moves on, keys."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pristine_copy
import pytest

from grader import pristine
from grader.cli import main

KIT = pristine.default_root()
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
"""Colours and cursor moves: the screen's text is what is left."""
WAIT = 60.0
"""Real seconds to wait for one screen: a chapter run takes a second or two."""


class Terminal:
    """A program on a pseudo-terminal of 120 x 40: keys in, the screen's text out."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.controller, terminal = pty.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm", **(env or {})}
        self.process = subprocess.Popen(
            command, cwd=cwd, stdin=terminal, stdout=terminal, stderr=terminal, env=env
        )
        os.close(terminal)
        self.seen = ""

    def read(self, seconds: float) -> None:
        ready, _, _ = select.select([self.controller], [], [], seconds)
        if ready:
            try:
                text = os.read(self.controller, 65536).decode(errors="replace")
                self.seen += ANSI.sub("", text).replace("\r\n", "\n")
            except OSError:  # the program has ended
                time.sleep(seconds)

    def wait_for(self, pattern: str, since: int = 0) -> str:
        """The output from ``since`` once ``pattern`` (a regex) is in it."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if re.search(pattern, self.seen[since:]):
                return self.seen[since:]
            self.read(0.2)
        raise AssertionError(
            f"no {pattern!r} on the screen within {WAIT:g} s:\n{self.seen[-3000:]}"
        )

    def press(self, key: str) -> int:
        mark = len(self.seen)
        os.write(self.controller, key.encode())
        return mark

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        os.close(self.controller)


@pytest.fixture
def checkout(tmp_path) -> Path:
    return pristine_copy.learner_checkout(tmp_path / "checkout", ["ch00", "ch01"])


DROPS_REFUSED_MESSAGE = KIT / "tests" / "mutants" / "ch00" / "drops_refused_message" / "ch00"


def given_to_the_browser(checkout: Path) -> Path:
    """Where the browser of :func:`watch` writes the address it was asked to open."""
    return checkout.parent / "browser-was-given"


def watch(cwd: Path, *args: str) -> Terminal:
    """``grader watch ARGS`` in a terminal, with a browser that only notes what it opens."""
    browser = cwd.parent / "browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {given_to_the_browser(cwd)}\n')
    browser.chmod(0o755)
    command = [sys.executable, "-m", "grader.cli", "watch", *args]
    return Terminal(command, cwd, env={"BROWSER": f"{browser} %s"})


def test_watch_runs_the_task_reruns_on_save_and_moves_on(checkout):
    screen = watch(checkout)
    try:
        first = screen.wait_for(r"ch00\.1: 0 of 3 tests pass")
        assert "ch00.1 · The availability of a synchronous chain" in first
        assert "NOT DONE YET" in first and "grader hint ch00.1" in first
        assert re.search(r"\[░{30}\] 0/5 tasks · 0/37 points", first)
        assert "h hint · l list · s show the failure · r run again · q quit" in first

        mark = screen.press("h")
        assert "hint 1 of 2" in screen.wait_for("hint 1 of 2", mark)

        # A wrong save reruns the task; the right one finishes it and starts the next.
        module = checkout / "exercises" / "ch00" / "availability.py"
        mark = len(screen.seen)
        module.write_text(
            "def chain_availability(availabilities):\n    return min(availabilities)\n"
        )
        rerun = screen.wait_for(r"ch00\.1: \d of 3 tests pass", mark)
        assert "NOT DONE YET" not in rerun and "FAILED" not in rerun.split("ch00.1:")[-1]
        mark = len(screen.seen)
        shutil.copy(KIT / "solutions" / "ch00" / "availability.py", module)
        moved = screen.wait_for(r"ch00\.2: 0 of 4 tests pass", mark)
        assert "✓ ch00.1 done; next: ch00.2" in moved
        assert re.search(r"\[█{6}░{24}\] 1/5 tasks · 5/37 points", moved)

        mark = screen.press("l")
        listed = screen.wait_for(r"1 of 5 tasks done", mark)
        assert re.search(r"ch00\.1\s+✓ done", listed)
        assert re.search(r"ch00\.2\s+→ next", listed)

        mark = screen.press("s")  # no failure has a page yet: stubs are not done
        assert "no failure's page under" in screen.wait_for("no failure's page", mark)
        mark = len(screen.seen)
        for module in DROPS_REFUSED_MESSAGE.glob("*.py"):
            shutil.copy(module, checkout / "exercises" / "ch00" / module.name)
        screen.wait_for(r"ch00\.2: \d of 4 tests pass", mark)
        mark = screen.press("s")
        opened = screen.wait_for(r"opened file://\S+\.html", mark)
        page = re.search(r"opened file://(\S+\.html)", opened).group(1)
        assert given_to_the_browser(checkout).read_text() == f"file://{page}"

        mark = screen.press("q")
        screen.wait_for("bye", mark)
        assert screen.process.wait(10) == 0
    finally:
        screen.close()


def test_watch_in_the_learner_edition(tmp_path):
    """the edition a teacher releases has watch, and its dependency"""
    edition = tmp_path / "edition"
    assert main(["release", str(edition)]) == 0
    assert "watchfiles" in (edition / "pyproject.toml").read_text(encoding="utf-8")
    screen = watch(edition, "ch03.2")
    try:
        first = screen.wait_for(r"ch03\.2: 0 of \d+ tests pass")
        assert "NOT DONE YET" in first
        screen.press("q")
        assert screen.process.wait(20) == 0
    finally:
        screen.close()


@pytest.mark.parametrize(
    "args, words",
    [
        (["ch09.1"], "unknown chapter 'ch09'"),
        (["ch00.7"], "has no task 7"),
        (["x"], "expected a task"),
    ],
)
def test_bad_input_is_one_line(checkout, capsys, args, words):
    assert main(["watch", *args, "--path", str(checkout)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def test_outside_a_checkout_is_one_line(tmp_path, capsys):
    assert main(["watch", "--path", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not inside a checkout of the kit" in err[0]
