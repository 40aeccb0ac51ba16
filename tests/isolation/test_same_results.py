"""Isolation changes nothing but the process: the same results, replay lines and timelines.

ch03 is run against its stubs, its solutions and every one of its mutants,
once in-process and once with ``--isolate``; every test must end the same
way (status, broken promise, message) and every failure report must be the
same text (its timeline, its replay line, its hint), read from JUnit XML.
"""

from __future__ import annotations

import re
import tempfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pristine_copy
import pytest
from selfcheck import mutants, run_chapter

CHAPTER = "ch03"
TARGETS = {"solutions": ("solutions", ())} | {
    m.name: (str(m.path), ("--task", str(m.task))) for m in mutants() if m.chapter == CHAPTER
}
NAMES = ["stubs", *TARGETS]
"""The stubs are the session's pristine copy (pristine_copy.exercises()), whatever the
working tree holds."""


def _reports(path: Path) -> dict[str, str]:
    """Each test's failure text from a JUnit XML file, without durations and addresses."""
    texts = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        parts = [node.text or "" for node in case if node.tag in ("failure", "error")]
        text = re.sub(r"\d+\.\d+s", "", "\n".join(parts))  # durations
        texts[f"{case.get('classname')}::{case.get('name')}"] = re.sub(r"0x[0-9a-f]+", "0x", text)
    return texts


def _run(target: str, extra: tuple[str, ...], isolate: bool) -> tuple[list, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        # Without pytest-timeout: on a loaded machine a slow run must not pass for a different one.
        args = (*extra, "--junitxml", str(junit), "-p", "no:timeout")
        args += ("--isolate",) if isolate else ()
        results = run_chapter(CHAPTER, target, *args)
        return results, _reports(junit)


@cache
def _all_runs() -> dict[tuple[str, bool], tuple[list, dict]]:
    jobs = [(name, isolate) for name in NAMES for isolate in (False, True)]
    targets = {"stubs": (str(pristine_copy.exercises()), ())} | TARGETS
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {job: pool.submit(_run, *targets[job[0]], job[1]) for job in jobs}
        return {job: future.result() for job, future in futures.items()}


@pytest.mark.parametrize("name", NAMES)
def test_isolation_gives_the_same_results_and_reports(name):
    """with and without --isolate: the same statuses, promises, messages and failure reports"""
    alone, alone_reports = _all_runs()[(name, False)]
    isolated, isolated_reports = _all_runs()[(name, True)]
    assert alone, f"no test ran against {name}"
    fields = ("id", "status", "promise", "message")
    assert [tuple(r[f] for f in fields) for r in isolated] == [
        tuple(r[f] for f in fields) for r in alone
    ]
    assert isolated_reports == alone_reports
