"""``--format json``: the whole :class:`~grader.result.SubmissionResult`, as the grader's record."""

from __future__ import annotations

import json

from grader.result import SubmissionResult


def render(result: SubmissionResult) -> str:
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"
