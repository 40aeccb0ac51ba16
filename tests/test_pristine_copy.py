"""The own suite grades pristine stubs, whatever the working tree holds under exercises/.

Its copies of the kit (tests/pristine_copy.py) hold each learner module as
``exercises/stubs.toml`` records it, even when the working tree's module is
solved, broken or gone; everything else under exercises/ is the working tree's.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pristine_copy
import pytest

from grader import stubs

SOLVED, BROKEN, DELETED = "ch00/availability.py", "ch03/at_least_once.py", "ch04/projection.py"


@pytest.fixture
def learner_kit(tmp_path: Path) -> Path:
    """A kit as a learner left it: its stubs committed, then one module solved, one broken
    by a SyntaxError, one deleted, a chapter README annotated and a notes file added."""
    root = tmp_path / "kit"
    shutil.copytree(pristine_copy.exercises(), root / "exercises")
    identity = ["-c", "user.name=kit", "-c", "user.email=kit@example.org"]
    for args in (["init", "-q"], ["add", "."], [*identity, "commit", "-q", "-m", "the stubs"]):
        subprocess.run(["git", *args], cwd=root, capture_output=True, check=True)
    exercises = root / "exercises"
    shutil.copyfile(pristine_copy.ROOT / "solutions" / SOLVED, exercises / SOLVED)
    (exercises / BROKEN).write_text("class AtLeastOnceConsumer(\n", encoding="utf-8")
    (exercises / DELETED).unlink()
    with (exercises / "ch03" / "README.md").open("a", encoding="utf-8") as readme:
        readme.write("\nMy notes: ack after the effect.\n")
    (exercises / "ch03" / "notes.txt").write_text("mine\n", encoding="utf-8")
    return root


def blobs(exercises: Path, modules: list[str]) -> dict[str, str | None]:
    return {
        m: stubs.blob_id((exercises / m).read_bytes()) if (exercises / m).is_file() else None
        for m in modules
    }


def test_every_copy_holds_the_recorded_stubs_and_the_working_tree_s_other_files(
    learner_kit: Path, tmp_path: Path
):
    """copy_exercises, copy_kit and checkout: each learner module is its recorded stub, byte
    for byte by its git blob id; the README and notes are the working tree's"""
    record = stubs.load(learner_kit)
    modules = sorted(record.modules)
    assert {SOLVED, BROKEN, DELETED} <= set(modules)
    assert blobs(learner_kit / "exercises", modules) != record.modules  # the tree differs
    copies = {
        "copy_exercises": pristine_copy.copy_exercises(tmp_path / "a", root=learner_kit),
        "copy_kit": pristine_copy.copy_kit(tmp_path / "b", root=learner_kit) / "exercises",
        "checkout": pristine_copy.checkout(tmp_path / "c", root=learner_kit) / "exercises",
    }
    readme = (learner_kit / "exercises" / "ch03" / "README.md").read_bytes()
    for name, copy in copies.items():
        assert blobs(copy, modules) == record.modules, f"{name} copied a learner's module"
        assert (copy / "ch03" / "README.md").read_bytes() == readme, f"{name}: not the README"
    assert (copies["copy_kit"] / "ch03" / "notes.txt").is_file()  # untracked, yet kept


def test_the_session_copy_is_the_recorded_stubs():
    """the copy the self-check and the isolation tests run "on the stubs" against"""
    record = stubs.load(pristine_copy.ROOT)
    copy = pristine_copy.exercises()
    assert blobs(copy, sorted(record.modules)) == record.modules
    assert not copy.is_relative_to(pristine_copy.ROOT)
