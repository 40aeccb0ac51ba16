"""``grader progress``: the learner's own exercises, run once and remembered until they change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader import progress
from grader.cli import main
from harness.manifest import Manifest

KIT = Path(__file__).resolve().parents[2]
CHAPTER = "ch03"


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A learner's checkout with only ch03, where tasks 1 and 3 are done."""
    root = tmp_path / "checkout"
    root.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(KIT / "harness", root / "harness", ignore=ignore)
    shutil.copytree(KIT / "exercises" / CHAPTER, root / "exercises" / CHAPTER, ignore=ignore)
    shutil.copy(KIT / "exercises" / "info.toml", root / "exercises")
    shutil.copy(KIT / "pyproject.toml", root)
    for module in ("at_most_once.py", "commit_first.py"):
        shutil.copy(KIT / "solutions" / CHAPTER / module, root / "exercises" / CHAPTER / module)
    return root


def test_progress_counts_points_per_task_and_names_the_next_one(checkout, monkeypatch, capsys):
    """tasks, titles and points from the manifest and the tests; saved, rerun when changed"""
    tasks, errors = progress.collect(checkout)
    assert errors == {}
    manifest = Manifest.load(checkout / "exercises" / "info.toml").chapter(CHAPTER)
    assert [t.id for t in tasks] == [t.id for t in manifest.tasks]
    assert [t.title for t in tasks] == [t.title for t in manifest.tasks]
    done = {t.id: t.done for t in tasks}
    assert done["ch03.1"] and done["ch03.3"] and not done["ch03.2"]
    for task in tasks:
        assert task.max_points > 0
        assert task.points == (task.max_points if task.done else 0)
    assert progress.next_tasks(checkout)[0] == "ch03.2"

    ran: list[list[str]] = []
    real = progress.run_chapters

    def spy(root, chapters):
        ran.append(list(chapters))
        return real(root, chapters)

    monkeypatch.setattr(progress, "run_chapters", spy)
    again, _ = progress.collect(checkout)
    assert ran == [[]]  # nothing changed: nothing ran
    assert again == tasks

    # The learner solves task 2; the command reruns ch03 and moves on to task 4.
    solved = KIT / "solutions" / CHAPTER / "at_least_once.py"
    shutil.copy(solved, checkout / "exercises" / CHAPTER / "at_least_once.py")
    assert main(["progress", "--path", str(checkout)]) == 0
    assert ran[-1] == [CHAPTER]
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip().startswith("ch03.")}
    assert "done" in rows["ch03.2"] and "→ next" in rows["ch03.4"]
    assert "pytest exercises/ch03 --task 4" in out and "grader hint ch03.4" in out
    assert progress.next_tasks(checkout)[0] == "ch03.4"


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
