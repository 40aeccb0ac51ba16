"""Gradescope's ``results.json``: the file an autograder writes to ``/autograder/results/``.

Follows Gradescope's published autograder specification: a top-level
``score`` and ``output``, and one entry per test with ``name``, ``score``,
``max_score``, ``status`` (``passed`` or ``failed``), ``output`` (shown to the
student) and ``visibility``. Hidden cases get ``after_due_date``: the
specification keeps ``hidden`` for tests that carry no points, and a hidden
case does carry points. The learner's score always comes from the grader's
record, never from what their code printed.

>>> from grader.result import ChapterResult, SubmissionResult, TestResult
>>> test = TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "passed", 2, 2, title="T")
>>> data = json.loads(render(SubmissionResult(2, 2, [ChapterResult("ch03", "D", 2, 2)], [test])))
>>> data["score"], data["tests"][0]["status"], data["tests"][0]["visibility"]
(2, 'passed', 'visible')
"""

from __future__ import annotations

import json
from typing import Any

from grader.result import SubmissionResult, TestResult

HIDDEN_VISIBILITY = "after_due_date"
"""Gradescope visibility of a hidden case: shown once the due date has passed."""
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def render(result: SubmissionResult, *, hidden_visibility: str = HIDDEN_VISIBILITY) -> str:
    """``result`` as Gradescope's ``results.json`` text."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(
            f"hidden_visibility {hidden_visibility!r}: expected one of {', '.join(VISIBILITIES)}"
        )
    data = {
        "score": result.score,
        "output": _summary(result),
        "tests": [_test(test, hidden_visibility) for test in result.tests],
        "extra_data": {
            "max_score": result.max_score,
            "kit_version": result.kit_version,
            "integrity_clean": result.integrity.clean,
        },
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _test(test: TestResult, hidden_visibility: str) -> dict[str, Any]:
    name = f"{test.chapter} · task {test.task} · {test.title or test.id}"
    if test.hidden:
        name += " (hidden case)"
    return {
        "name": name,
        "score": test.points,
        "max_score": test.max_points,
        # Gradescope knows passed and failed; an error or a timeout is a failure to the student.
        "status": "passed" if test.status == "passed" else "failed",
        "output": _output(test),
        "tags": [test.chapter, f"{test.chapter}.{test.task}"] + (["hidden"] if test.hidden else []),
        "visibility": hidden_visibility if test.hidden else "visible",
        "extra_data": {"id": test.id, "status": test.status, "promise": test.promise},
    }


def _output(test: TestResult) -> str:
    if test.status == "passed":
        return "passed"
    lines = [f"{test.status}: {test.message}" if test.message else test.status]
    if not test.hidden:
        lines.append(f"run it yourself: pytest {test.id.split('[')[0]}")
    return "\n".join(lines)


def _summary(result: SubmissionResult) -> str:
    lines = [f"Score: {result.score:g} / {result.max_score:g}"]
    lines += [f"  {c.id} {c.title}: {c.score:g} / {c.max_score:g}" for c in result.chapters]
    integrity = result.integrity
    if integrity.modified:
        lines.append(
            "These kit files differ in your submission; the kit's own copies were used: "
            + ", ".join(integrity.modified)
        )
    if integrity.unexpected:
        lines.append("Unexpected files, ignored: " + ", ".join(integrity.unexpected))
    if integrity.missing:
        lines.append("Missing files: " + ", ".join(integrity.missing))
    lines += result.notes
    return "\n".join(lines)
