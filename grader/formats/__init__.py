"""Exporters: one module per format, each with ``render(result: SubmissionResult) -> str``.

>>> sorted(FORMATS)
['classroom', 'classroom50', 'csv', 'gradescope', 'json', 'md']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from grader.errors import GradingError
from grader.result import SubmissionResult

FORMATS = ("json", "md", "csv", "gradescope", "classroom", "classroom50")


def renderer(name: str) -> Callable[[SubmissionResult], str]:
    """The ``render`` function of format ``name``, imported on demand."""
    if name not in FORMATS:
        raise GradingError(f"unknown format {name!r}; the formats are: {', '.join(FORMATS)}")
    try:
        module = importlib.import_module(f"grader.formats.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"grader.formats.{name}":
            raise
        raise GradingError(f"the {name} format is not available yet") from None
    return module.render


def render(name: str, result: SubmissionResult) -> str:
    """``result`` in format ``name``."""
    return renderer(name)(result)
