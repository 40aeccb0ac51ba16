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
- ``--grader-repeat``: same submission, same score. A chapter test that passed runs a
  second time, identically (a fresh ``kit`` fixture; under ``--isolate`` a learner
  process from a renewed learner host, one that has served no test, with the same seed;
  the same derandomized Hypothesis profile with no database);
  if that run's outcome differs, the test is recorded as ``nondeterministic`` and
  scores 0. A test that did not pass scores 0 anyway and runs once.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from _pytest.runner import runtestprotocol

from harness.pytest_plugin import _chapter_of, _task_of
from harness.pytest_plugin import _state as _kit_state

GUARDED = ("harness", "_pytest", "pytest", "pluggy", "grader", "_hypothesis_pytestplugin")
TAMPERED_EXIT = 3
WALL_FACTOR = 6
"""The wall-clock backstop is this many times the CPU-time limit (at least a minute)."""
_state: dict = {"config": None, "snapshot": None, "timed_out": set()}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "The kit's grader (internal)")
    group.addoption("--grader-plan", default=None, metavar="FILE")
    group.addoption("--grader-test-timeout", default=None, type=float, metavar="SECONDS")
    group.addoption("--grader-repeat", action="store_true", default=False)


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
            runs = 2 if config.getoption("grader_repeat") else 1  # the backstop covers both
            wall = runs * max(60.0, WALL_FACTOR * timeout)
            item.add_marker(pytest.mark.timeout(wall), append=False)
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
    _check_tampering(nodeid)


def _check_tampering(nodeid: str) -> None:
    """After a test: if learner code replaced guarded objects, record an error and end."""
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


# -- same submission, same score -----------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Under ``--grader-repeat``, run a chapter test that passed once more and compare."""
    yield
    config = item.config
    if not config.getoption("grader_repeat") or _chapter_of(item) is None:
        return
    first = _record_of(item, config.stash[_kit_state]["results"])
    if first is None or first.get("status") != "passed":
        return  # it scores 0 whatever a second run does
    # Should the test process die during the second run, the test keeps no points.
    _append(
        {
            "id": item.nodeid,
            "override": True,
            "status": "nondeterministic",
            "message": "nondeterministic: the first run passed; the test process ended "
            "during the second run",
        }
    )
    second = _second_run(item, nextitem)
    if (second.get("status"), second.get("promise")) == ("passed", first.get("promise")):
        _append({**first, "override": True})
    else:
        _append(_nondeterministic(first, second))
    _check_tampering(item.nodeid)


def _record_of(item: pytest.Item, results: list[dict]) -> dict | None:
    """The kit plugin's last record of ``item`` among ``results``."""
    return next((r for r in reversed(results) if r.get("id") == item.nodeid), None)


def _second_run(item: pytest.Item, nextitem: pytest.Item | None) -> dict:
    """Run ``item`` again, setup to teardown, and return the record the kit's plugin made of
    it: kept out of the results, the stream and the report (the first run's record stands)."""
    config = item.config
    results = config.stash[_kit_state]["results"]
    kept, stream = len(results), config.option.results_stream
    config.option.results_stream = None
    if config.getoption("isolate", False):
        _fresh_learner_host()
    try:
        runtestprotocol(item, nextitem=nextitem, log=False)
    finally:
        config.option.results_stream = stream
    second = _record_of(item, results[kept:])
    del results[kept:]
    if item.nodeid in _state["timed_out"]:
        _state["timed_out"].discard(item.nodeid)
        limit = config.getoption("grader_test_timeout")
        second = {"status": "timeout", "message": f"it used more than {limit:g} s of CPU time"}
    return second or {"status": "error", "message": "it recorded no outcome"}


def _fresh_learner_host() -> None:
    """Renew the learner host of this test process, so that the second run's learner process
    comes from a host that has served no test: a copy of it forked before it served the
    first, in the state a new host starts in. A run that depends on the host's history (the
    process ids it handed out, what it allocated) differs here as it would between two
    gradings that ran the tests in other processes or another order."""
    try:
        from harness.isolation.launch import renew_running
    except ImportError:  # a kit whose isolation starts each learner process afresh
        return
    renew_running()


def _nondeterministic(first: dict, second: dict) -> dict:
    status = second.get("status")
    promise = second.get("promise")
    broke = f" (promise {promise})" if promise and status == "failed" else ""
    outcome = {"failed": "failed", "error": "ended in an error", "timeout": "timed out"}.get(
        status, f"ended as {status}"
    )
    message = str(second.get("message") or "").strip() or "no message"
    return {
        **first,
        "override": True,
        "status": "nondeterministic",
        "promise": promise,
        "message": f"nondeterministic: the same code on the same test, run twice: the first run "
        f"passed, the second run {outcome}{broke}: {message}",
    }
