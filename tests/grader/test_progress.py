"""``grader progress``: the learner's own exercises, run once and remembered until they change."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pristine_copy
import pytest

from grader import pristine, progress, stubs
from grader.cli import main
from harness.manifest import Manifest

KIT = Path(__file__).resolve().parents[2]
CHAPTER = "ch03"


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A learner's checkout with only ch03, where tasks 1 and 3 are done."""
    root = pristine_copy.learner_checkout(tmp_path / "checkout", [CHAPTER])
    for module in ("at_most_once.py", "commit_first.py"):
        shutil.copy(KIT / "solutions" / CHAPTER / module, root / "exercises" / CHAPTER / module)
    return root


@pytest.fixture
def runs(monkeypatch) -> list[tuple[str, list[int] | None]]:
    """Every pytest run progress starts: (chapter, the tasks it runs or None for all)."""
    ran: list[tuple[str, list[int] | None]] = []
    real = progress._pytest

    def spy(root, chapter, tasks):
        ran.append((chapter, tasks))
        return real(root, chapter, tasks)

    monkeypatch.setattr(progress, "_pytest", spy)
    return ran


def test_progress_counts_points_per_task_and_names_the_next_one(checkout, runs, capsys):
    """tasks, titles and points from the manifest and the tests; saved, rerun when changed"""
    tasks, errors = progress.collect(checkout)
    assert errors == {}
    assert runs == [(CHAPTER, [1, 3])], "only the tasks whose modules changed run"
    manifest = Manifest.load(checkout / "exercises" / "info.toml").chapter(CHAPTER)
    assert [t.id for t in tasks] == [t.id for t in manifest.tasks]
    assert [t.title for t in tasks] == [t.title for t in manifest.tasks]
    done = {t.id: t.done for t in tasks}
    assert done["ch03.1"] and done["ch03.3"] and not done["ch03.2"]
    figures = stubs.load(KIT).tasks
    for task in tasks:
        assert task.max_points == figures[(CHAPTER, task.number)].points > 0
        assert task.tests == figures[(CHAPTER, task.number)].tests
        assert task.points == (task.max_points if task.done else 0)
    assert progress.next_tasks(checkout)[0] == "ch03.2"

    again, _ = progress.collect(checkout)
    assert len(runs) == 1, "nothing changed: nothing ran"
    assert again == tasks

    # The learner solves task 2; the command reruns ch03's changed tasks and moves on to task 4.
    solved = KIT / "solutions" / CHAPTER / "at_least_once.py"
    shutil.copy(solved, checkout / "exercises" / CHAPTER / "at_least_once.py")
    assert main(["progress", "--path", str(checkout)]) == 0
    assert runs[-1] == (CHAPTER, [1, 2, 3])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip().startswith("ch03.")}
    assert "done" in rows["ch03.2"] and "→ next" in rows["ch03.4"]
    assert "pytest exercises/ch03 --task 4" in out and "grader hint ch03.4" in out
    assert progress.next_tasks(checkout)[0] == "ch03.4"

    # Back to the stub: the task is to do again, and nothing runs for it.
    (checkout / "exercises" / CHAPTER / "at_least_once.py").write_bytes(
        stubs.load(KIT).stub(KIT, f"{CHAPTER}/at_least_once.py")
    )
    tasks, _ = progress.collect(checkout)
    assert runs[-1] == (CHAPTER, [1, 3])
    assert [t.id for t in tasks if t.done] == ["ch03.1", "ch03.3"]


def test_a_fresh_checkout_runs_no_test_and_lists_every_task(tmp_path, runs, capsys):
    """untouched stubs are known by their blob ids: every task to do, with its points"""
    kit = pristine.load()
    root = pristine_copy.learner_checkout(tmp_path / "fresh", list(kit.chapters))
    assert main(["progress", "--path", str(root)]) == 0
    assert runs == []
    out = capsys.readouterr().out
    every = [t.id for c in kit.manifest.chapters if c.id in kit.chapters for t in c.tasks]
    listed = [line.split()[0] for line in out.splitlines() if line.strip()[:2] == "ch"]
    assert listed == every
    total = sum(f.points for f in stubs.load(KIT).tasks.values())
    assert f"points: 0 / {total:g}" in out
    assert f"next: {every[0]}" in out


def test_the_first_progress_takes_at_most_twice_a_trivial_pytest(tmp_path):
    """on a fresh checkout, `grader progress` against pytest running one trivial test,
    in the same run (the best of three of each, so that a busy moment counts less)"""
    kit = pristine.load()
    root = pristine_copy.learner_checkout(tmp_path / "fresh", list(kit.chapters))
    (tmp_path / "trivial").mkdir()
    (tmp_path / "trivial" / "test_trivial.py").write_text("def test_trivial():\n    pass\n")

    def best_of_three(command: list[str], cwd: Path) -> float:
        times = []
        for _ in range(3):
            shutil.rmtree(root / ".twm", ignore_errors=True)
            start = time.perf_counter()
            done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
            times.append(time.perf_counter() - start)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return min(times)

    trivial = best_of_three(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_trivial.py"],
        tmp_path / "trivial",
    )
    first = best_of_three([sys.executable, "-m", "grader.cli", "progress"], root)
    assert first <= 2 * trivial, (
        f"first grader progress {first:.2f} s, trivial pytest {trivial:.2f} s"
    )


def test_code_that_ends_the_test_process_is_reported_not_fatal(checkout, capsys):
    """a module that calls os._exit at import: the chapter could not run, progress says why"""
    module = checkout / "exercises" / CHAPTER / "guarantee.py"
    module.write_text("import os\nos._exit(3)\n")
    assert main(["progress", "--path", str(checkout)]) == 0
    out = capsys.readouterr().out
    assert "could not run" in out
    assert "exit 3" in " ".join(out.split())
    # a chapter that could not run is run again next time, even unchanged
    assert (
        "error"
        in json.loads((checkout / ".twm" / "progress.json").read_text())["chapters"][CHAPTER]
    )


def test_outside_a_checkout_is_one_clear_line(tmp_path, capsys):
    """grader progress where there is no kit says where it looked"""
    assert main(["progress", "--path", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not inside a checkout of the kit" in err[0]
