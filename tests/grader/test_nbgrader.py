"""The batch's nbgrader gradebook, read back by nbgrader's own ``nbgrader export``."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader import gradebook
from grader.batch import sync_gradebook
from grader.records import Record
from grader.result import ChapterResult, SubmissionResult, TestResult

try:
    import nbgrader.api  # noqa: F401
except ImportError:
    if os.environ.get("CI") == "true":
        raise  # CI installs the grading extra: a missing nbgrader there is a failure
    pytest.skip(
        'nbgrader is not installed: pip install -e ".[dev,grading]" to run the gradebook tests',
        allow_module_level=True,
    )


def result(points: dict[tuple[str, int], tuple[float, float]]) -> SubmissionResult:
    """A graded submission with one test per (chapter, task): (points, max points)."""
    tests = [
        TestResult(
            f"exercises/{c}/test_t.py::test_{t}", c, t, "passed" if p == m else "failed", p, m
        )
        for (c, t), (p, m) in points.items()
    ]
    chapters = sorted({c for c, _ in points})
    chapter_results = [
        ChapterResult(
            c,
            c.upper(),
            sum(p for (k, _), (p, _) in points.items() if k == c),
            sum(m for (k, _), (_, m) in points.items() if k == c),
        )
        for c in chapters
    ]
    total = sum(c.score for c in chapter_results)
    maximum = sum(c.max_score for c in chapter_results)
    return SubmissionResult(
        total, maximum, chapter_results, tests, graded_at="2026-01-05T10:00:00+00:00"
    )


def nbgrader_export(url: str, where: Path) -> list[dict[str, str]]:
    """Run the real ``nbgrader export`` on the gradebook at ``url``; return grades.csv's rows."""
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", "--db", url, "--to", "grades.csv"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with (where / "grades.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_nbgrader_export_reads_the_gradebook_the_batch_wrote(tmp_path):
    """one assignment per chapter, each student's score and max score, as nbgrader exports them"""
    out = tmp_path / "out"
    out.mkdir()
    url = gradebook.url_of(str(out / "gradebook.db"))
    records = {
        "alice": Record("alice", "a1", result({("ch03", 1): (0, 4), ("ch03", 2): (0, 6)})),
        "bob": Record("bob", "b1", result({("ch03", 1): (4, 4), ("ch03", 2): (3, 6)})),
        "zoe": Record("zoe", "z1", None, "not a checkout of this kit"),
    }
    assert sync_gradebook(out, url, records) == 2

    from nbgrader.api import Gradebook

    with Gradebook(url) as book:
        assert [a.name for a in book.assignments] == ["ch03"]
        assert sorted(s.id for s in book.students) == ["alice", "bob"]
        bob = book.find_submission("ch03", "bob")
        assert (bob.score, bob.max_score) == (7.0, 10.0)

    # bob is graded again (his submission changed) and a chapter appears: his ch03 row is
    # replaced, never doubled, and the new chapter is its own assignment.
    records["bob"] = Record(
        "bob", "b2", result({("ch03", 1): (4, 4), ("ch03", 2): (6, 6), ("ch04", 1): (2, 5)})
    )
    assert sync_gradebook(out, url, records) == 1
    assert sync_gradebook(out, url, records) == 0  # nothing new: nothing written

    rows = nbgrader_export(url, tmp_path)
    keys = [(r["assignment"], r["student_id"]) for r in rows]
    assert len(keys) == len(set(keys))
    found = {key: r for key, r in zip(keys, rows, strict=True)}
    assert float(found["ch03", "bob"]["score"]) == 10.0
    assert float(found["ch04", "bob"]["score"]) == 2.0
    assert float(found["ch04", "bob"]["max_score"]) == 5.0
    # alice was not graded on ch04: nbgrader itself reports her missing submission as 0.
    assert float(found["ch04", "alice"]["score"]) == 0.0
    assert float(found["ch03", "alice"]["score"]) == 0.0
    assert float(found["ch03", "bob"]["max_score"]) == 10.0
    assert found["ch03", "bob"]["timestamp"].startswith("2026-01-05 10:00:00")


def test_a_deleted_gradebook_is_written_again_in_full(tmp_path):
    """the batch remembers what the gradebook holds; a deleted SQLite file is rebuilt"""
    url = gradebook.url_of(str(tmp_path / "gradebook.db"))
    records = {"bob": Record("bob", "b1", result({("ch03", 1): (4, 4)}))}
    assert sync_gradebook(tmp_path, url, records) == 1
    assert sync_gradebook(tmp_path, url, records) == 0
    (tmp_path / "gradebook.db").unlink()
    assert sync_gradebook(tmp_path, url, records) == 1


def test_a_gradebook_path_becomes_a_sqlite_url_and_a_url_stays_as_given(tmp_path):
    """--gradebook takes any SQLAlchemy URL, or a file path for SQLite"""
    assert gradebook.url_of("postgresql://teacher@db/course") == "postgresql://teacher@db/course"
    assert gradebook.url_of(str(tmp_path / "g.db")) == f"sqlite:///{tmp_path / 'g.db'}"


def test_a_gradebook_that_cannot_be_opened_is_one_clear_error(tmp_path):
    """an unusable database URL is bad input, not a traceback"""
    from grader.errors import GradingError

    with pytest.raises(GradingError, match="cannot open it"):
        gradebook.write("nosuchdriver://x/y", [])


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_regrading_with_fewer_chapters_leaves_no_stale_rows(tmp_path):
    """a chapter no longer in a student's record keeps no score of theirs; a chapter no student
    has any more is no assignment; a record with no result clears the student; the teacher's
    own assignments are never touched"""
    from nbgrader.api import Gradebook, MissingEntry

    url = gradebook.url_of(str(tmp_path / "gradebook.db"))
    with Gradebook(url) as book:
        book.add_assignment("homework1")  # the teacher's own, in a shared database
        book.add_student("ann")
        book.add_submission("homework1", "ann")
    both = {("ch03", 1): (4, 4), ("ch04", 1): (2, 5)}
    records = {
        "ann": Record("ann", "a1", result(both)),
        "bob": Record("bob", "b1", result(both)),
        "cy": Record("cy", "c1", result(both)),
    }
    assert sync_gradebook(tmp_path, url, records) == 3

    # bob regraded with ch03 only: his ch04 score goes, ann's and cy's stay.
    records["bob"] = Record("bob", "b2", result({("ch03", 1): (3, 4)}))
    assert sync_gradebook(tmp_path, url, records) == 1
    with Gradebook(url) as book:
        with pytest.raises(MissingEntry):
            book.find_submission("ch04", "bob")
        assert book.find_submission("ch03", "bob").score == 3.0
        assert book.find_submission("ch04", "ann").score == 2.0

    # cy's submission can no longer be graded: nothing of hers stays.
    records["cy"] = Record("cy", "c2", None, "not a checkout of this kit")
    sync_gradebook(tmp_path, url, records)
    with Gradebook(url) as book:
        assert book.student_submissions("cy") == []

    # ann regraded with ch03 only too: no one has ch04 any more, so it is no assignment.
    records["ann"] = Record("ann", "a2", result({("ch03", 1): (1, 4)}))
    sync_gradebook(tmp_path, url, records)
    with Gradebook(url) as book:
        assert sorted(a.name for a in book.assignments) == ["ch03", "homework1"]
        assert book.find_submission("homework1", "ann") is not None

    rows = nbgrader_export(url, tmp_path)
    assert {r["assignment"] for r in rows} == {"ch03", "homework1"}
    scores = {r["student_id"]: float(r["score"]) for r in rows if r["assignment"] == "ch03"}
    assert scores == {"ann": 1.0, "bob": 3.0, "cy": 0.0}
