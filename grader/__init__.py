"""The grader: trustworthy scores from the kit's own pristine tests.

``grader run PATH`` grades one submission (see :func:`grader.grade.grade_submission`);
the result is a :class:`grader.result.SubmissionResult`, rendered by ``grader.formats``.
"""

from grader.errors import GradingError
from grader.result import ChapterResult, Integrity, SubmissionResult, TestResult

__all__ = ["ChapterResult", "GradingError", "Integrity", "SubmissionResult", "TestResult"]
