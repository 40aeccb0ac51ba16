"""A pytest plugin the grader loads into its own test runs (``-p grader.collector``).

- ``--grader-plan FILE``: after collection, write the chapter tests in run
  order (id, chapter, task, points, promise in words) as JSON. The grader
  collects the pristine kit this way, with no learner code anywhere in the
  tree, so the list of tests to score never depends on the submission.
- ``--grader-test-timeout SECONDS``: the per-test limit for grading, in seconds of
  CPU time, so that a loaded machine (a batch, other jobs) never turns a slow but
  correct test into a timeout: the same submission gets the same score. The
  wall-clock timeout (pytest-timeout) stays as a backstop, a few times longer.
- With ``--results-stream FILE`` (the kit's plugin), it appends ``{"started": nodeid}``
  as each test starts, so that when a test process dies the grader knows which
  test it was running.
- The tamper check: when collection ends (before any learner code has run) it
  notes every function and class of the harness, pytest, pluggy and the grader,
  and every method of the harness's classes; after each test it compares. A
  test during which learner code replaced one of them is recorded as an error
  and the process ends, so that no later test runs in a tampered process (the
  grader reruns them in a fresh one). This guards the test process itself;
  the kit's ``--isolate`` goes further, keeping learner code out of it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from harness.pytest_plugin import _chapter_of, _task_of

GUARDED = ("harness", "_pytest", "pytest", "pluggy", "grader", "_hypothesis_pytestplugin")
TAMPERED_EXIT = 3
WALL_FACTOR = 6
"""The wall-clock backstop is this many times the CPU-time limit (at least a minute)."""
_state: dict = {"config": None, "snapshot": None, "timed_out": set()}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "The kit's grader (internal)")
    group.addoption("--grader-plan", default=None, metavar="FILE")
    group.addoption("--grader-test-timeout", default=None, type=float, metavar="SECONDS")


def pytest_configure(config: pytest.Config) -> None:
    _state["config"] = config


def _title(item: pytest.Item) -> str:
    doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines()
    title = doc[0].strip().rstrip(".") if doc else item.name
    callspec = getattr(item, "callspec", None)
    return f"{title} [{callspec.id}]" if callspec else title


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    timeout = config.getoption("grader_test_timeout")
    plan = []
    for item in items:
        chapter = _chapter_of(item)
        if chapter is None:
            continue
        if timeout:
            item.add_marker(pytest.mark.timeout(max(60.0, WALL_FACTOR * timeout)), append=False)
        points = item.get_closest_marker("points")
        plan.append(
            {
                "id": item.nodeid,
                "chapter": chapter,
                "task": _task_of(item),
                "max_points": points.args[0] if points and points.args else 0,
                "title": _title(item),
            }
        )
    path = config.getoption("grader_plan")
    if path:
        Path(path).write_text(json.dumps(plan, indent=1), encoding="utf-8")


def _guarded(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in GUARDED)


def snapshot() -> list[tuple[str, dict, str, object]]:
    """Every function and class of the guarded modules, and every method of the harness's
    classes: (name, namespace, key, object), to check later by identity."""
    seen: list[tuple[str, dict, str, object]] = []
    classes: set[int] = set()
    for name, module in list(sys.modules.items()):
        if module is None or not _guarded(name):
            continue
        namespace = vars(module)
        for attr, value in list(namespace.items()):
            if callable(value):
                seen.append((f"{name}.{attr}", namespace, attr, value))
                harness_class = isinstance(value, type) and value.__module__.startswith("harness")
                if harness_class and id(value) not in classes:
                    classes.add(id(value))
                    for method, member in list(vars(value).items()):
                        seen.append((f"{name}.{attr}.{method}", vars(value), method, member))
    return seen


def changed(before: list[tuple[str, dict, str, object]]) -> list[str]:
    """The names, of those noted by :func:`snapshot`, now bound to another object."""
    missing = object()
    return sorted(
        name for name, space, key, value in before if space.get(key, missing) is not value
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    _state["snapshot"] = snapshot()


def _stream() -> str | None:
    config = _state["config"]
    return config.getoption("results_stream", None) if config else None


def _append(record: dict) -> None:
    stream = _stream()
    if stream:
        with open(stream, "a", encoding="utf-8") as lines:
            lines.write(json.dumps(record) + "\n")


def pytest_runtest_logstart(nodeid: str, location: tuple) -> None:
    _append({"started": nodeid})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Limit the test's CPU time: past it, fail as a timeout, and again every 50 ms of CPU
    (a Hypothesis test replays its failure: each replay ends quickly too)."""
    limit = _state["config"].getoption("grader_test_timeout") if _state["config"] else None
    if not limit or not hasattr(signal, "ITIMER_PROF"):
        yield
        return

    def expired(signum: int, frame: object) -> None:
        _state["timed_out"].add(item.nodeid)
        pytest.fail(f"Timeout: more than {limit:g} s of CPU time", pytrace=False)

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, limit, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, previous)


def pytest_runtest_logfinish(nodeid: str, location: tuple) -> None:
    if nodeid in _state["timed_out"]:
        limit = _state["config"].getoption("grader_test_timeout")
        _append(
            {
                "id": nodeid,
                "override": True,
                "status": "timeout",
                "message": f"timed out: the test used more than {limit:g} s of CPU time; the "
                "harness never waits, so this is a loop in the learner's code that never ends",
            }
        )
    before = _state["snapshot"]
    if before is None or not _stream():
        return
    replaced = changed(before)
    if replaced:
        shown = ", ".join(replaced[:3]) + (" ..." if len(replaced) > 3 else "")
        _append(
            {
                "id": nodeid,
                "override": True,
                "status": "error",
                "message": f"learner code replaced objects of the test process ({shown}); "
                "a tampered test scores 0",
            }
        )
        os._exit(TAMPERED_EXIT)
