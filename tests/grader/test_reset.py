"""``grader reset`` and ``grader list``: a stub put back from git, nothing lost; every state."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pristine_copy
import pytest

from grader import pristine, stubs
from grader.cli import main

KIT = pristine.default_root()


def fresh_checkout(root: Path, chapters: list[str]) -> Path:
    """A learner's clone of ``chapters``: every module its stub, committed once, as an
    edition's first commit keeps them."""
    pristine_copy.learner_checkout(root, chapters)
    git = ["git", "-c", "user.name=learner", "-c", "user.email=learner@example.org"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "the edition"], cwd=root, check=True)
    return root


def solve(root: Path, module: str) -> str:
    text = (KIT / "solutions" / module).read_text(encoding="utf-8")
    (root / "exercises" / module).write_text(text, encoding="utf-8")
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    git = ["git", "-c", "user.name=learner", "-c", "user.email=learner@example.org"]
    subprocess.run([*git, "commit", "-qm", "my work"], cwd=root, check=True)
    return text


def chapter_run(root: Path, chapter: str, task: int) -> int:
    command = [sys.executable, "-m", "pytest", f"exercises/{chapter}", f"--task={task}", "-q"]
    command += ["-p", "no:cacheprovider"]
    return subprocess.run(command, cwd=root, capture_output=True, timeout=300).returncode


@pytest.fixture
def checkout(tmp_path) -> Path:
    return fresh_checkout(tmp_path / "checkout", ["ch02", "ch03"])


def test_reset_puts_back_the_stub_and_keeps_yours(checkout, capsys):
    """a task alone in its module: the module is the stub again, even after a commit of
    yours, and your version is in .twm/backups"""
    mine = solve(checkout, "ch03/at_least_once.py")
    assert main(["reset", "ch03.2", "--yes", "--path", str(checkout)]) == 0
    record = stubs.load(KIT)
    assert record.untouched(checkout, "ch03/at_least_once.py")
    backup = checkout / ".twm" / "backups" / "ch03" / "at_least_once.py.1"
    assert backup.read_text(encoding="utf-8") == mine
    out = capsys.readouterr().out
    assert "the stub is back" in out and ".twm/backups/ch03/at_least_once.py.1" in out
    # A second reset finds the stub and touches nothing; a later one keeps both backups.
    assert main(["reset", "ch03.2", "--yes", "--path", str(checkout)]) == 0
    assert "nothing to reset" in capsys.readouterr().out
    (checkout / "exercises" / "ch03" / "at_least_once.py").write_text("# mine, again\n")
    assert main(["reset", "ch03.2", "-y", "--path", str(checkout)]) == 0
    assert backup.read_text(encoding="utf-8") == mine
    assert backup.with_name("at_least_once.py.2").read_text(encoding="utf-8") == "# mine, again\n"


def test_a_shared_module_gets_back_only_the_task_s_functions(checkout, capsys):
    """ch02's tasks share shipping.py: resetting ch02.2 keeps ch02.1's work passing"""
    solve(checkout, "ch02/shipping.py")
    assert chapter_run(checkout, "ch02", 2) == 0
    assert main(["reset", "ch02.2", "--yes", "--path", str(checkout)]) == 0
    text = (checkout / "exercises" / "ch02" / "shipping.py").read_text(encoding="utf-8")
    assert "TODO(ch02.2)" in text and "TODO(ch02.1)" not in text and "TODO(ch02.3)" not in text
    assert "on_partitions_assigned()" in capsys.readouterr().out
    assert chapter_run(checkout, "ch02", 1) == 0, "the work on ch02.1 was lost"
    assert chapter_run(checkout, "ch02", 2) != 0, "ch02.2 is still solved"
    # --module puts back the whole module, and says whose work goes with it.
    assert main(["reset", "ch02.2", "--module", "--yes", "--path", str(checkout)]) == 0
    assert stubs.load(KIT).untouched(checkout, "ch02/shipping.py")
    assert "ch02.1" in capsys.readouterr().out


def test_reset_asks_first(checkout):
    """at a terminal it asks; no answer but yes changes nothing; with no terminal, --yes"""
    mine = solve(checkout, "ch03/at_least_once.py")
    module = checkout / "exercises" / "ch03" / "at_least_once.py"
    command = [sys.executable, "-m", "grader.cli", "reset", "ch03.2"]
    for answer, changed in ((b"n\n", False), (b"\n", False), (b"y\n", True)):
        controller, terminal = pty.openpty()
        done = subprocess.Popen(command, cwd=checkout, stdin=terminal, stdout=subprocess.PIPE)
        os.write(controller, answer)
        out, _ = done.communicate(timeout=60)
        os.close(controller), os.close(terminal)
        assert b"[y/N]" in out
        assert (module.read_text(encoding="utf-8") != mine) == changed, out
    solve(checkout, "ch03/at_least_once.py")
    alone = subprocess.run(command, cwd=checkout, stdin=subprocess.DEVNULL, capture_output=True)
    assert alone.returncode == 2 and module.read_text(encoding="utf-8") == mine
    assert len(alone.stderr.decode().strip().splitlines()) == 1 and b"--yes" in alone.stderr


@pytest.mark.parametrize(
    "task, words",
    [("ch09.1", "no such task"), ("ch3.2", "expected a task such as ch03.2"), ("ch03", "chapter")],
)
def test_an_unknown_task_is_one_line(checkout, capsys, task, words):
    assert main(["reset", task, "--yes", "--path", str(checkout)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and "ch03.2" in err[0]


def test_a_stub_missing_from_git_or_a_read_only_checkout_is_one_line(checkout, capsys, monkeypatch):
    solve(checkout, "ch03/at_least_once.py")
    monkeypatch.setattr(Path, "write_text", _read_only)
    assert main(["reset", "ch03.2", "--yes", "--path", str(checkout)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "read-only" in err[0]
    monkeypatch.undo()
    shutil.rmtree(checkout / ".git")
    assert main(["reset", "ch03.2", "--yes", "--path", str(checkout)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not in this checkout's git history" in err[0]
    assert not [p for p in (checkout / ".twm").rglob("*") if p.is_file() and "backups" in p.parts]


def _read_only(self: Path, *args, **kwargs):
    raise OSError(30, "Read-only file system", str(self))


def test_list_shows_every_task_with_its_state_module_and_hints(checkout, capsys):
    solve(checkout, "ch03/at_most_once.py")
    (checkout / "exercises" / "ch03" / "commit_first.py").write_text("# started\n")
    assert main(["hint", "ch03.2", "--path", str(checkout)]) == 0
    capsys.readouterr()
    assert main(["list", "--path", str(checkout)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line[:2] == "ch"}
    kit = pristine.load()
    every = [t for c in kit.manifest.chapters if c.id in ("ch02", "ch03") for t in c.tasks]
    assert list(rows) == [t.id for t in every]
    for task in every:
        assert task.module in rows[task.id]
    assert "done" in rows["ch03.1"]
    assert "→ next" in rows["ch02.1"]
    assert "stub" in rows["ch03.2"] and f"1/{len(every[5].hints)}" in rows["ch03.2"]
    assert "stub" not in rows["ch03.3"] and "to do" in rows["ch03.3"]
    assert "1 of 9 tasks done" in out


def test_a_read_only_checkout_still_shows_its_hint(checkout, capsys, monkeypatch):
    """the hint is shown; one line says it could not be remembered"""
    monkeypatch.setattr(Path, "write_text", _read_only)
    assert main(["hint", "ch03.2", "--path", str(checkout)]) == 0
    out, err = capsys.readouterr()
    assert "hint 1 of" in out
    assert len(err.strip().splitlines()) == 1 and "Read-only" in err
