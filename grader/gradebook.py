"""The batch's nbgrader gradebook: one assignment per chapter, one grade cell per task.

Written with nbgrader's own API (``nbgrader.api.Gradebook``), so nbgrader's
tools read it as their own: ``nbgrader export --db URL`` writes its
grades.csv (one row per assignment and student, with score and max_score)
and the formgrader lists the students. The URL is any SQLAlchemy URL
(``sqlite:///grades/gradebook.db`` by default, ``postgresql://...``). Each
chapter is an assignment named by its id with one notebook of the same name;
each task is an autograded cell named ``chNN.N`` whose max score is the task's
points. Writing a student's chapter again replaces their grades: never a
second submission.

The gradebook says what the student's current record says, and nothing older.
Writing a student removes their submissions for every chapter their result
does not have (a regrade with fewer chapters, or one that found nothing
gradable): such a row would keep a score that no current grading gave. An
assignment named like a chapter (``chNN``) that no student has a submission
for any more is removed too, so nbgrader's export lists no column of zeros
for a chapter that is no longer graded. Other assignments (a teacher's own
notebooks in a shared database) are never touched.

nbgrader is an optional dependency (``pip install -e ".[grading]"``),
imported only here and only when a gradebook is written.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from pathlib import Path

from grader.errors import GradingError
from grader.result import SubmissionResult

CHAPTER_NAME = re.compile(r"ch\d+")
"""An assignment this module writes (and so may remove once it is empty)."""


def url_of(value: str) -> str:
    """``--gradebook``: a SQLAlchemy URL as given, or a file path turned into a SQLite URL."""
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def available() -> bool:
    try:
        import nbgrader.api  # noqa: F401
    except ImportError:
        return False
    return True


def task_points(result: SubmissionResult) -> dict[tuple[str, int], tuple[float, float]]:
    """{(chapter, task): (points, max points)}, hidden cases included."""
    found: dict[tuple[str, int], tuple[float, float]] = {}
    for test in result.tests:
        key = (test.chapter, test.task or 0)
        points, max_points = found.get(key, (0.0, 0.0))
        found[key] = (points + test.points, max_points + test.max_points)
    return found


def write(url: str, results: Iterable[tuple[str, SubmissionResult | None]]) -> int:
    """Record each (student, result) in the gradebook at ``url``; return how many were written.

    A result of None (the submission could not be graded, or its grading did not
    finish) removes what the gradebook held for that student and counts for nothing.
    """
    try:
        from nbgrader.api import Gradebook, MissingEntry
    except ImportError:
        raise GradingError(
            'nbgrader is not installed, so no gradebook can be written: pip install -e ".[grading]"'
            " (or pass --no-gradebook)"
        ) from None
    written = 0
    with warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy autoflush warnings that change nothing.
        warnings.simplefilter("ignore")
        try:
            gradebook = Gradebook(url)
        except Exception as error:  # SQLAlchemy raises many kinds for a bad URL
            raise GradingError(f"--gradebook {url}: cannot open it ({error})") from None
        with gradebook:
            for student, result in results:
                if result is None:
                    _forget(gradebook, MissingEntry, student, keep=set())
                    continue
                _write_one(gradebook, MissingEntry, student, result)
                written += 1
            _remove_empty_chapters(gradebook)
    return written


def _forget(gradebook, missing_entry: type[Exception], student: str, *, keep: set[str]) -> None:
    """Remove ``student``'s submissions of every chapter assignment not in ``keep``."""
    try:
        submitted = gradebook.student_submissions(student)
    except missing_entry:
        return
    for name in [s.assignment.name for s in submitted]:
        if name not in keep and CHAPTER_NAME.fullmatch(name):
            gradebook.remove_submission(name, student)
    gradebook.db.commit()


def _remove_empty_chapters(gradebook) -> None:
    for assignment in list(gradebook.assignments):
        if CHAPTER_NAME.fullmatch(assignment.name) and not assignment.submissions:
            gradebook.remove_assignment(assignment.name)
    gradebook.db.commit()


def _write_one(gradebook, missing_entry: type[Exception], student: str, result) -> None:
    gradebook.update_or_create_student(student)
    _forget(gradebook, missing_entry, student, keep={c.id for c in result.chapters})
    points = task_points(result)
    for chapter in result.chapters:
        tasks = sorted((task, p) for (c, task), p in points.items() if c == chapter.id)
        gradebook.update_or_create_assignment(chapter.id)
        gradebook.update_or_create_notebook(chapter.id, chapter.id)
        for task, (_, max_points) in tasks:
            gradebook.update_or_create_grade_cell(
                f"{chapter.id}.{task}",
                chapter.id,
                chapter.id,
                max_score=max_points,
                cell_type="code",
            )
        try:
            gradebook.remove_submission(chapter.id, student)
        except missing_entry:
            pass
        stamp = {"timestamp": result.graded_at} if result.graded_at else {}
        gradebook.add_submission(chapter.id, student, **stamp)
        for task, (earned, _) in tasks:
            grade = gradebook.find_grade(f"{chapter.id}.{task}", chapter.id, chapter.id, student)
            grade.auto_score = earned
            grade.needs_manual_grade = False
        gradebook.db.commit()
