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

nbgrader is an optional dependency (``pip install -e ".[grading]"``),
imported only here and only when a gradebook is written.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

from grader.errors import GradingError
from grader.result import SubmissionResult


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


def write(url: str, results: Iterable[tuple[str, SubmissionResult]]) -> int:
    """Record each (student, result) in the gradebook at ``url``; return how many were written."""
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
                _write_one(gradebook, MissingEntry, student, result)
                written += 1
    return written


def _write_one(gradebook, missing_entry: type[Exception], student: str, result) -> None:
    gradebook.update_or_create_student(student)
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
