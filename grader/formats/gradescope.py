"""Gradescope's ``results.json``: the file an autograder writes to ``/autograder/results/``.

Follows Gradescope's published autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): a top-level
``score`` and ``output``, and one entry per test with ``name``, ``score``,
``max_score``, ``status`` (``passed`` or ``failed``), ``output`` and
``visibility``. A failed test's ``output`` is the reason, then the command that
reruns it: the failure's ``replay:`` line, which runs exactly the failing case,
when the failure has one (``TestResult.rerun``). Every text is declared plain
(``output_format``, ``test_output_format`` and ``test_name_format`` are
``text``): the top-level
output defaults to ``simple_format``, which renders HTML, and file names from a
submission must never become markup. ``stdout_visibility`` is ``hidden``: the
autograder's own log is for the teacher.

Visibility, in the specification's words: ``hidden`` is never shown to
students, ``after_due_date`` once the (late) due date has passed,
``after_published`` only once the teacher publishes the grades, ``visible``
always. A hidden case, whose output names the teacher's trace, is
``after_published``: the teacher decides when students see it. The top-level
``output`` is always visible, so it counts the visible tests only and says how
many hidden cases wait for publication. The learner's score always comes from
the grader's record, never from what their code printed.

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

HIDDEN_VISIBILITY = "after_published"
"""Gradescope visibility of a hidden case: shown once the teacher publishes the grades."""
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def render(result: SubmissionResult, *, hidden_visibility: str = HIDDEN_VISIBILITY) -> str:
    """``result`` as Gradescope's ``results.json`` text."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(
            f"hidden_visibility {hidden_visibility!r}: expected one of {', '.join(VISIBILITIES)}"
        )
    data = {
        "score": result.score,
        "output": _summary(result, hidden_visibility),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "stdout_visibility": "hidden",
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
    """Why the test did not pass, then the command that reruns it: the failure's replay line
    (exactly the failing case) when it has one. A hidden case's trace is the teacher's, so it
    gets neither."""
    if test.status == "passed":
        return "passed"
    lines = [f"{test.status}: {test.message}" if test.message else test.status]
    if not test.hidden:
        if test.replay:
            lines.append(f"replay: {test.rerun}")
        else:
            lines.append(f"run it yourself: {test.rerun}")
    return "\n".join(lines)


def _summary(result: SubmissionResult, hidden_visibility: str = HIDDEN_VISIBILITY) -> str:
    """The always-visible output: hidden cases' points stay out until their tests are shown."""
    hidden = [t for t in result.tests if t.hidden]
    if not hidden or hidden_visibility == "visible":
        lines = [f"Score: {result.score:g} / {result.max_score:g}"]
        lines += [f"  {c.id} {c.title}: {c.score:g} / {c.max_score:g}" for c in result.chapters]
    else:
        shown = [t for t in result.tests if not t.hidden]
        score, worth = sum(t.points for t in shown), sum(t.max_points for t in shown)
        lines = [f"Score of the visible tests: {score:g} / {worth:g}"]
        for c in result.chapters:
            mine = [t for t in shown if t.chapter == c.id]
            got, out_of = sum(t.points for t in mine), sum(t.max_points for t in mine)
            lines.append(f"  {c.id} {c.title}: {got:g} / {out_of:g}")
        when = {"after_due_date": "after the due date", "hidden": "to your teacher only"}
        lines.append(
            f"{len(hidden)} hidden case(s), worth {sum(t.max_points for t in hidden):g} points, "
            f"are shown {when.get(hidden_visibility, 'when your teacher publishes the grades')}."
        )
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
    if integrity.copied:
        lines.append(
            "The reference solution, up to formatting and names: " + ", ".join(integrity.copied)
        )
    lines += result.notes
    return "\n".join(lines)
