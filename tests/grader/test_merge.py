"""``grader merge``: the shards of a batch joined into one CSV and one gradebook.

The shards are graded by ``run_batch`` with a grade function that hands out
fixed scores (real grading is ``test_batch.py``'s), so each test takes well
under a second apart from nbgrader's own start-up.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import batch
from grader.cli import main
from grader.records import load_records
from grader.result import ChapterResult, SubmissionResult, TestResult


def fake_class(root: Path, *students: str) -> Path:
    for student in students:
        (root / student).mkdir(parents=True)
        (root / student / "notes.txt").write_text(student)
    return root


def tiny_result(score: float) -> SubmissionResult:
    return SubmissionResult(
        score,
        4,
        [ChapterResult("ch00", "CH00", score, 4)],
        [TestResult("exercises/ch00/test_a.py::test_a", "ch00", 1, "passed", score, 4)],
        kit_version="0.1.0+test",
    )


class Scores:
    """A grade function: each student's score from a table, counting calls."""

    def __init__(self, scores: dict[str, float]):
        self.scores, self.calls = scores, []

    def __call__(self, path: Path) -> SubmissionResult:
        self.calls.append(path.name)
        return tiny_result(self.scores[path.name])


STUDENTS = ("ann", "ben", "cat", "dov", "eli")


def test_shards_cover_every_student_once_and_merge_into_the_unsharded_csv(tmp_path, capsys):
    """--shard 1/2 and 2/2 grade disjoint slices covering the class; merged, the same CSV"""
    root = fake_class(tmp_path / "submissions", *STUDENTS)
    scores = dict(zip(STUDENTS, (0, 1, 2, 3, 4), strict=True))
    whole, one, two = tmp_path / "whole", tmp_path / "one", tmp_path / "two"
    batch.run_batch(root, whole, Scores(scores), settings="x")
    batch.write_csv(whole / "grades.csv", load_records(whole).values())
    first, second = Scores(scores), Scores(scores)
    batch.run_batch(root, one, first, settings="x", shard=(1, 2))
    batch.run_batch(root, two, second, settings="x", shard=(2, 2))
    assert first.calls == ["ann", "cat", "eli"] and second.calls == ["ben", "dov"]

    merged = tmp_path / "merged"
    assert main(["merge", str(one), str(two), "--out", str(merged), "--no-gradebook"]) == 0
    assert "5 students" in capsys.readouterr().out
    assert (merged / "grades.csv").read_text() == (whole / "grades.csv").read_text()


def test_merge_refuses_missing_shards_conflicts_and_other_settings(tmp_path, capsys):
    """a missing slice, a student graded differently twice, another kit: one line, exit 2"""
    root = fake_class(tmp_path / "submissions", *STUDENTS)
    one, two, other = tmp_path / "one", tmp_path / "two", tmp_path / "other"
    batch.run_batch(root, one, Scores(dict.fromkeys(STUDENTS, 1)), settings="x", shard=(1, 3))
    batch.run_batch(root, two, Scores(dict.fromkeys(STUDENTS, 1)), settings="x", shard=(2, 3))
    batch.run_batch(root, other, Scores(dict.fromkeys(STUDENTS, 2)), settings="x")
    third = tmp_path / "three"
    batch.run_batch(root, third, Scores(dict.fromkeys(STUDENTS, 1)), settings="y", shard=(3, 3))

    def refused(*folders: Path) -> str:
        args = ["merge", *map(str, folders), "--out", str(tmp_path / "m"), "--no-gradebook"]
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        return err[0]

    assert "missing shards 3/3" in refused(one, two)
    assert "different results" in refused(one, other)
    assert "different kit versions or settings" in refused(one, two, third)


def test_merge_refuses_a_shard_with_a_record_it_did_not_sign(tmp_path, capsys):
    """a record rewritten in a shard's artifact is refused by name, not merged"""
    root = fake_class(tmp_path / "submissions", *STUDENTS)
    one, two = tmp_path / "one", tmp_path / "two"
    batch.run_batch(root, one, Scores(dict.fromkeys(STUDENTS, 1)), settings="x", shard=(1, 2))
    batch.run_batch(root, two, Scores(dict.fromkeys(STUDENTS, 1)), settings="x", shard=(2, 2))
    record = two / "results" / "ben.json"
    data = json.loads(record.read_text())
    data["result"]["score"] = 4
    record.write_text(json.dumps(data))
    args = ["merge", str(one), str(two), "--out", str(tmp_path / "m"), "--no-gradebook"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ben.json" in err[0] and "not signed" in err[0]


def test_a_shard_with_no_student_still_counts_as_graded(tmp_path, capsys):
    """with fewer students than shards, an empty slice is not reported missing"""
    root = fake_class(tmp_path / "submissions", "ann")
    folders = [tmp_path / f"s{k}" for k in (1, 2, 3)]
    for k, folder in enumerate(folders, start=1):
        batch.run_batch(root, folder, Scores({"ann": 2}), settings="x", shard=(k, 3))
    assert load_records(folders[1]) == {}
    args = ["merge", *map(str, folders), "--out", str(tmp_path / "m"), "--no-gradebook"]
    assert main(args) == 0
    assert "1 students" in capsys.readouterr().out


def test_merge_writes_one_nbgrader_gradebook(tmp_path):
    """the joined gradebook holds every shard's students, as nbgrader reads it"""
    nbgrader_api = pytest.importorskip("nbgrader.api")
    root = fake_class(tmp_path / "submissions", *STUDENTS)
    scores = dict(zip(STUDENTS, (0, 1, 2, 3, 4), strict=True))
    one, two, merged = tmp_path / "one", tmp_path / "two", tmp_path / "merged"
    batch.run_batch(root, one, Scores(scores), settings="x", shard=(1, 2))
    batch.run_batch(root, two, Scores(scores), settings="x", shard=(2, 2))
    assert main(["merge", str(one), str(two), "--out", str(merged)]) == 0
    with nbgrader_api.Gradebook(f"sqlite:///{merged / 'gradebook.db'}") as book:
        found = {s: book.find_submission("ch00", s).score for s in STUDENTS}
    assert found == scores
