"""``grader batch``: every submission graded once, in parallel, resumable after an interruption.

The submissions are real: copies of the kit with the stubs, the reference
solutions or a known-wrong module. Grading is limited to ch03 to stay fast.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from grader import batch
from grader.cli import main
from grader.pristine import IGNORED_DIRS
from grader.records import load_records

KIT = Path(__file__).resolve().parents[2]
CHAPTER = "ch03"
WRONG = KIT / "tests" / "mutants" / CHAPTER / "ack_before_effect" / CHAPTER / "at_least_once.py"


def make_submission(folder: Path, *, solved: bool = False, wrong: bool = False) -> Path:
    """A learner's checkout of the kit: the stubs, or ch03 solved, or one wrong module."""
    shutil.copytree(
        KIT,
        folder,
        ignore=lambda _, names: [
            n for n in names if n in IGNORED_DIRS or n.endswith((".egg-info", ".pyc", ".grades"))
        ],
    )
    if solved or wrong:
        for module in (KIT / "solutions" / CHAPTER).glob("*.py"):
            shutil.copy(module, folder / "exercises" / CHAPTER / module.name)
    if wrong:
        shutil.copy(WRONG, folder / "exercises" / CHAPTER / "at_least_once.py")
    return folder


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory) -> Path:
    """Three students: alice (stubs), bob (ch03 solved), carol (one wrong module)."""
    root = tmp_path_factory.mktemp("class") / "submissions"
    root.mkdir()
    make_submission(root / "alice")
    make_submission(root / "bob", solved=True)
    make_submission(root / "carol", wrong=True)
    return root


@pytest.fixture(scope="module")
def graded(class_dir, tmp_path_factory) -> tuple[Path, str]:
    """``grader batch DIR --jobs 2 --chapters ch03``, run once for the module: (OUT, stdout)."""
    out = tmp_path_factory.mktemp("graded") / "grades"
    # DIR as a teacher types it, relative to where they stand.
    args = ["batch", class_dir.name, "--jobs", "2", "--chapters", CHAPTER, "--out", str(out)]
    printed, here = io.StringIO(), Path.cwd()
    os.chdir(class_dir.parent)
    try:
        with contextlib.redirect_stdout(printed):
            assert main([*args, "--quiet"]) == 0
    finally:
        os.chdir(here)
    return out, printed.getvalue()


def rows_of(out: Path) -> list[dict[str, str]]:
    with (out / "grades.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_command_grades_in_parallel_into_one_csv_row_per_student(graded):
    """grader batch DIR --jobs 2: a row per student, a column per chapter, the total"""
    out, printed = graded
    assert "graded 3, up to date 0" in printed
    rows = rows_of(out)
    assert [row["student"] for row in rows] == ["alice", "bob", "carol"]
    assert list(rows[0]) == ["student", CHAPTER, "total", "max_score", "integrity", "error"]
    alice, bob, carol = rows
    assert alice[CHAPTER] == alice["total"] == "0"
    assert bob[CHAPTER] == bob["total"] == bob["max_score"] != "0"
    assert 0 < float(carol["total"]) < float(carol["max_score"])
    assert all(f"exercises/{CHAPTER}" not in row["integrity"] for row in rows)


def test_a_rerun_of_the_command_grades_nothing_and_keeps_every_row(graded, class_dir, capsys):
    """a second run finds every record up to date: no grading, no row lost or doubled"""
    out, _ = graded
    before = {p.name: p.read_bytes() for p in (out / "results").glob("*.json")}
    args = ["batch", str(class_dir), "--chapters", CHAPTER, "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert "graded 0, up to date 3" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in (out / "results").glob("*.json")} == before
    assert [row["student"] for row in rows_of(out)] == ["alice", "bob", "carol"]


def test_the_command_writes_an_nbgrader_gradebook(graded):
    """the batch's gradebook has the students, one assignment per chapter, scores and maxima"""
    nbgrader_api = pytest.importorskip("nbgrader.api")
    out, _ = graded
    rows = {row["student"]: row for row in rows_of(out)}
    with nbgrader_api.Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        assert sorted(s.id for s in gradebook.students) == ["alice", "bob", "carol"]
        assert [a.name for a in gradebook.assignments] == [CHAPTER]
        for student, row in rows.items():
            submission = gradebook.find_submission(CHAPTER, student)
            assert submission.score == float(row["total"])
            assert submission.max_score == float(row["max_score"])


class Replay:
    """A grade function that hands back each student's real result from the graded batch,
    counting its calls; it can stop the batch (Ctrl-C) or crash on one student."""

    def __init__(self, out: Path, *, interrupt_after: int | None = None, crash: str = ""):
        self.results = {name: record.result for name, record in load_records(out).items()}
        self.calls: list[str] = []
        self.interrupt_after, self.crash = interrupt_after, crash

    def __call__(self, path: Path):
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls.append(path.name)
        if path.name == self.crash:
            raise RuntimeError("the grader itself broke")
        return self.results[path.name]


def test_an_interrupted_batch_resumes_with_only_what_is_missing_or_changed(
    graded, class_dir, tmp_path
):
    """after Ctrl-C a rerun grades only the missing and the changed; nothing is lost or doubled"""
    source, _ = graded
    out = tmp_path / "out"
    first = Replay(source, interrupt_after=1)
    summary = batch.run_batch(class_dir, out, first, settings="s", jobs=1)
    assert summary.interrupted and first.calls == ["alice"]
    kept = (out / "results" / "alice.json").read_bytes()
    assert sorted(load_records(out)) == ["alice"]

    second = Replay(source)
    summary = batch.run_batch(class_dir, out, second, settings="s", jobs=2)
    assert not summary.interrupted and summary.up_to_date == ["alice"]
    assert sorted(second.calls) == ["bob", "carol"]
    assert (out / "results" / "alice.json").read_bytes() == kept
    assert sorted(load_records(out)) == ["alice", "bob", "carol"]
    assert len(list((out / "results").glob("*.json"))) == 3

    carol = class_dir / "carol" / "exercises" / CHAPTER / "at_least_once.py"
    original = carol.read_bytes()
    try:
        carol.write_bytes(original + b"\n# fixed, she says\n")
        third = Replay(source)
        batch.run_batch(class_dir, out, third, settings="s", jobs=2)
        assert third.calls == ["carol"]
    finally:
        carol.write_bytes(original)

    batch.write_csv(out / "grades.csv", load_records(out).values())
    assert [row["student"] for row in rows_of(out)] == ["alice", "bob", "carol"]


def test_a_grading_that_crashes_is_not_recorded_and_is_graded_next_run(graded, class_dir, tmp_path):
    """a job that raises leaves no record: the next run grades that submission again"""
    source, _ = graded
    out = tmp_path / "out"
    summary = batch.run_batch(class_dir, out, Replay(source, crash="bob"), settings="s", jobs=2)
    assert list(summary.failed) == ["bob"]
    assert sorted(load_records(out)) == ["alice", "carol"]

    again = Replay(source)
    batch.run_batch(class_dir, out, again, settings="s", jobs=2)
    assert again.calls == ["bob"]
    assert sorted(load_records(out)) == ["alice", "bob", "carol"]


def test_records_made_with_other_settings_are_graded_again(graded, class_dir, tmp_path):
    """a record holds only for the settings (kit, chapters, hidden traces) that made it"""
    source, _ = graded
    out = tmp_path / "out"
    batch.run_batch(class_dir, out, Replay(source), settings="ch03 only", jobs=2)
    other = Replay(source)
    batch.run_batch(class_dir, out, other, settings="ch03 and hidden traces", jobs=2)
    assert sorted(other.calls) == ["alice", "bob", "carol"]


def test_a_folder_that_is_not_a_kit_checkout_gets_a_row_with_the_reason(tmp_path, capsys):
    """a submission that cannot be graded is recorded with why, never a crash of the batch"""
    root = tmp_path / "submissions"
    (root / "zoe" / "notes").mkdir(parents=True)
    out = tmp_path / "grades"
    args = ["batch", str(root), "--chapters", CHAPTER, "--out", str(out), "--no-gradebook"]
    assert main([*args, "--quiet"]) == 0
    assert "not gradable (1, see the error column): zoe" in capsys.readouterr().out
    row = rows_of(out)[0]
    assert row["student"] == "zoe" and "not a checkout" in row["error"]
    assert json.loads((out / "results" / "zoe.json").read_text())["result"] is None


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--jobs", "0"], "--jobs 0"),
        (["--chapters", "ch99"], "unknown chapter 'ch99'"),
        (["--hidden", "/nonexistent/hidden"], "--hidden"),
    ],
)
def test_bad_input_gets_one_clear_line(tmp_path, capsys, extra, says):
    """bad options end with one line on stderr and exit 2, never a traceback"""
    (tmp_path / "submissions").mkdir()
    assert main(["batch", str(tmp_path / "submissions"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


def test_a_missing_folder_is_bad_input(tmp_path, capsys):
    """grader batch on a folder that does not exist names it"""
    assert main(["batch", str(tmp_path / "nope")]) == 2
    assert "nope: not a folder" in capsys.readouterr().err
