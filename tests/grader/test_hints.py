"""``grader hint chNN[.N]``: one more hint each time, from the manifest, remembered in .twm/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader import progress
from grader.cli import main
from harness.manifest import Manifest

KIT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checkout(tmp_path) -> Path:
    root = tmp_path / "checkout"
    (root / "exercises").mkdir(parents=True)
    shutil.copy(KIT / "exercises" / "info.toml", root / "exercises")
    return root


@pytest.fixture
def task():
    """The manifest's first task with at least two hints (the hints are never in the grader)."""
    manifest = Manifest.load(KIT / "exercises" / "info.toml")
    return next(t for c in manifest.chapters for t in c.tasks if len(t.hints) >= 2)


def hint(checkout: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["hint", *args, "--path", str(checkout)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_each_request_shows_one_more_hint_until_the_last(checkout, task, capsys):
    """hint 1, then 1 and 2, ...; past the last one it says so and shows them all"""
    for shown in range(1, len(task.hints) + 1):
        code, out, _ = hint(checkout, capsys, task.id)
        assert code == 0
        assert f"hint {shown} of {len(task.hints)}" in out
        for number, text in enumerate(task.hints, start=1):
            assert (text in " ".join(out.split())) == (number <= shown)
    code, out, _ = hint(checkout, capsys, task.id)
    assert "that was the last hint" in out
    state = json.loads((checkout / ".twm" / "hints.json").read_text())
    assert state == {task.id: len(task.hints)}


def test_reset_forgets_what_was_seen(checkout, task, capsys):
    """--reset starts the task's hints again from the first"""
    hint(checkout, capsys, task.id)
    hint(checkout, capsys, task.id)
    assert hint(checkout, capsys, task.id, "--reset")[0] == 0
    _, out, _ = hint(checkout, capsys, task.id)
    assert f"hint 1 of {len(task.hints)}" in out


def test_a_chapter_alone_means_its_next_unfinished_task(checkout, task, capsys):
    """grader hint chNN takes the chapter's next task from grader progress's last run"""
    chapter = task.chapter
    manifest = Manifest.load(KIT / "exercises" / "info.toml")
    last = manifest.chapter(chapter).tasks[-1]
    (checkout / ".twm").mkdir()
    (checkout / ".twm" / "progress.json").write_text(
        json.dumps({"version": progress.CACHE_VERSION, "chapters": {}, "next": [last.id]})
    )
    _, out, _ = hint(checkout, capsys, chapter)
    assert out.startswith(f"{last.id} · {last.title}")
    _, out, _ = hint(checkout, capsys)  # no argument: the course's next task
    assert out.startswith(f"{last.id} · {last.title}")


def test_without_progress_a_chapter_starts_at_its_first_task(checkout, task, capsys):
    """with no progress run yet, grader hint chNN is the chapter's first task"""
    first = Manifest.load(KIT / "exercises" / "info.toml").chapter(task.chapter).tasks[0]
    _, out, _ = hint(checkout, capsys, task.chapter)
    assert out.startswith(f"{first.id} · ")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["ch3"], "expected a task such as ch03.2"),
        (["ch99.1"], "unknown chapter 'ch99'"),
        (["ch03.99"], "ch03 has no task 99"),
        ([], "which task?"),
    ],
)
def test_bad_input_is_one_clear_line(checkout, capsys, args, says):
    """a task that does not exist: one line naming what does, exit 2"""
    code, _, err = hint(checkout, capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0]


def test_twm_is_ignored_by_git():
    """the hint state lives in .twm/, which the kit's .gitignore leaves out of commits"""
    assert ".twm/" in (KIT / ".gitignore").read_text().splitlines()
