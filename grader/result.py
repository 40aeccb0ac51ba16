"""The grader's record of one submission: plain dataclasses that round-trip through JSON.

Every exporter (json, md, csv, gradescope, classroom) and the batch read this
model, never pytest's output. ``graded_at`` is the only field that differs
between two gradings of the same submission.

>>> test = TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "passed", 2, 2)
>>> result = SubmissionResult(2, 2, [ChapterResult("ch03", "Delivery semantics", 2, 2)], [test])
>>> SubmissionResult.from_json(result.to_json()) == result
True
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

HIDDEN_SUFFIX = "[hidden]"
"""The suffix of a hidden case's id (``grader.hidden.SUFFIX``)."""
STATUSES = ("passed", "failed", "error", "timeout", "nondeterministic")
"""A test's status: passed, failed (a promise broken, not done), error (learner code raised,
failed to import, exited), timeout (ran out of wall-clock or CPU time), nondeterministic
(it passed, then a second identical run did not: it scores 0)."""


@dataclass(frozen=True)
class TestResult:
    """One graded test: pristine kit tests, or the same test over hidden traces."""

    __test__ = False  # a data class, not a pytest test case

    id: str
    """The pytest node id, relative to the kit (``exercises/ch03/test_x.py::test_y``);
    hidden cases carry the suffix ``[hidden]``."""
    chapter: str
    task: int | None
    status: str
    points: float
    max_points: float
    message: str = ""
    """Why it did not pass, in one line for a person (empty when it passed)."""
    hidden: bool = False
    promise: str | None = None
    """The id of the broken promise (``harness.promises``), when one was broken."""
    title: str = ""
    """The test's promise in plain words (its docstring's first line)."""
    replay: str = ""
    """The replay token of the failing case (what ``--replay`` takes), when the failure has
    one: a broken promise, or learner code that raised in an explored or generated case."""

    @property
    def rerun(self) -> str:
        """The command that runs this test again in a learner's checkout: the failure's
        ``replay:`` line, exactly the failing case, when it has a replay token; else the
        test function, every parameter of it.

        >>> test_id = "exercises/ch03/test_a.py::test_x[two]"
        >>> TestResult(test_id, "ch03", 1, "failed", 0, 2).rerun
        'pytest exercises/ch03/test_a.py::test_x'
        >>> TestResult(test_id, "ch03", 1, "failed", 0, 2, replay="queue-one-order/1b@s0").rerun
        "pytest 'exercises/ch03/test_a.py::test_x[two]' --replay queue-one-order/1b@s0"
        """
        if not self.replay:
            return f"pytest {self.id.split('[')[0]}"
        command = ["pytest", self.id.removesuffix(HIDDEN_SUFFIX), "--replay", self.replay]
        return " ".join(shlex.quote(part) for part in command)


@dataclass(frozen=True)
class ChapterResult:
    id: str
    title: str
    score: float
    max_score: float


@dataclass(frozen=True)
class Integrity:
    """How the submission differs from the kit, outside the learner's exercise modules.

    Nothing listed here is ever used for grading (the kit's pristine copies
    are); it is reported so that a teacher sees what was tampered with.
    """

    modified: list[str] = field(default_factory=list)
    """Kit files (tests, traces, harness, configuration) whose content differs from the kit."""
    unexpected: list[str] = field(default_factory=list)
    """Files the kit does not have where only kit files belong (e.g. exercises/conftest.py)."""
    missing: list[str] = field(default_factory=list)
    """Kit files absent from the submission, learner modules included."""
    copied: list[str] = field(default_factory=list)
    """Learner modules that are the reference solution up to formatting, comments,
    docstrings and names (:mod:`grader.copies`)."""

    @property
    def clean(self) -> bool:
        return not (self.modified or self.unexpected or self.missing or self.copied)


@dataclass(frozen=True)
class SubmissionResult:
    score: float
    max_score: float
    chapters: list[ChapterResult]
    tests: list[TestResult]
    integrity: Integrity = field(default_factory=Integrity)
    kit_version: str = ""
    graded_at: str = ""
    """UTC time of grading, ISO 8601: the only nondeterministic field."""
    submission: str = ""
    """The graded path, as given."""
    notes: list[str] = field(default_factory=list)
    """Whole-run reasons for a person (the run was killed, a module is missing, ...)."""
    sandbox: dict[str, list[str]] = field(default_factory=dict)
    """The protections learner code ran under (``held``) and those this machine could not
    give (``missing``), in words."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps(result.to_json())``)."""
        data = asdict(self)
        data["integrity"]["clean"] = self.integrity.clean
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> SubmissionResult:
        """Rebuild a result from :meth:`to_json`'s dict, or from its JSON text."""
        if isinstance(data, str):
            data = json.loads(data)
        integrity = {k: list(v) for k, v in data.get("integrity", {}).items() if k != "clean"}
        return cls(
            score=data["score"],
            max_score=data["max_score"],
            chapters=[ChapterResult(**c) for c in data["chapters"]],
            tests=[TestResult(**t) for t in data["tests"]],
            integrity=Integrity(**integrity),
            kit_version=data.get("kit_version", ""),
            graded_at=data.get("graded_at", ""),
            submission=data.get("submission", ""),
            notes=list(data.get("notes", [])),
            sandbox={k: list(v) for k, v in data.get("sandbox", {}).items()},
        )

    def without_timestamp(self) -> dict[str, Any]:
        """The JSON dict minus ``graded_at``: equal for every grading of the same submission."""
        data = self.to_json()
        data.pop("graded_at")
        return data
