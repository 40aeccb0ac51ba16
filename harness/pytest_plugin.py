"""The pytest plugin of the kit (registered through the ``pytest11`` entry point).

Options (group "talking with messages"):

- ``--target exercises|solutions|PATH``: the tree of learner modules the
  chapter tests run against (default: exercises, your work);
- ``--replay TOKEN``: run one case exactly, as printed on a failure's
  ``replay:`` line;
- ``--task N`` / ``--task chNN.N``: run only that task's tests;
- ``--results-json FILE``: write every test's outcome (for graders and the
  self-check);
- ``--results-stream FILE``: also append each outcome to FILE as one JSON line the
  moment it is known, so a run that dies keeps what it had recorded (the grader);
- ``--hidden-traces DIR``: run each test over the hidden traces ``DIR/chNN/*.toml``
  matching its pattern instead of the visible ones; the generated traces run as
  usual. ``--hidden-only`` skips those too, so only hidden cases run (the grader's
  hidden lane, whose visible lane has already drawn the generated traces);
- ``--no-pictures``: a failure's report without its picture and debugger page
  (by default written under ``.twm/failures/``, see :mod:`harness.failure_files`),
  and the files there left as they are;
- ``--isolate``: never import the learner's modules into this process; run them in a
  child process per test that reaches the world only through the ports (the grader;
  see :mod:`harness.isolation`), with ``--isolate-limits`` for its limits;
- ``--world sim|live``: the world the chapter tests run in: the simulator (default), or
  the real RabbitMQ (and PostgreSQL) through the same ports (:mod:`harness.live`),
  crash-free and single-crash schedules only, without determinism or replay tokens.

Hypothesis profiles: ``learner`` (the default: random, remembers failures),
``grading`` (derandomized, no database: the same score every run) and
``selfcheck`` (grading without shrinking, for the course's self-check), chosen
with Hypothesis's own ``--hypothesis-profile``. Every chapter test gets a
timeout (pytest-timeout), so a loop that never ends fails instead of hanging.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from harness import failure_files, report
from harness.errors import LearnerError, NotDone, TargetError
from harness.explore import Explorer, PromiseBroken, ReplayError
from harness.faults import RunawayLoop
from harness.hints import Failure, Hint, choose
from harness.kit import Kit
from harness.manifest import Manifest, ManifestError
from harness.targets import NAMED, Target, resolve
from harness.traces import TraceError
from harness.watchdog import TestTimedOut, can_limit_real_time, start_real_time_limit

CHAPTER_TIMEOUT = 30.0
"""Real seconds a chapter test may take before it fails as a loop that never ends."""
LIVE_TIMEOUT = 300.0
"""The same under ``--world live``, where every run waits on real servers in real time."""

_TIMEOUT_WHY = (
    "\n  The harness runs in virtual time and never waits, so this is a loop in"
    "\n  your code that never ends (a retry without a limit, a `while True`)."
)
_LIVE_TIMEOUT_WHY = (
    "\n  Live runs wait on RabbitMQ in real time, each with its own deadline;"
    "\n  this is a loop in your code that never ends, or a very slow server."
)

PROFILES = ("learner", "grading", "selfcheck")
_CHAPTER = re.compile(r"^ch\d\d$")
_state = pytest.StashKey[dict]()
_profiles_registered = False


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("talking with messages", "Talking with messages (the kata kit)")
    group.addoption(
        "--target",
        default="exercises",
        help="the learner modules to test: 'exercises' (your work, default), 'solutions' "
        "(the reference), or the path of a tree laid out like exercises/ (e.g. a mutant)",
    )
    group.addoption(
        "--replay",
        default=None,
        metavar="TOKEN",
        help="run exactly one case, as printed on a failure's 'replay:' line",
    )
    group.addoption(
        "--task",
        action="append",
        default=[],
        metavar="N",
        help="run only the tests of task N (or chNN.N); may be given more than once",
    )
    group.addoption(
        "--results-json",
        default=None,
        metavar="FILE",
        help="write every chapter test's outcome as JSON to FILE",
    )
    group.addoption(
        "--results-stream",
        default=None,
        metavar="FILE",
        help="append each chapter test's outcome to FILE as one JSON line, as soon as known",
    )
    group.addoption(
        "--hidden-traces",
        default=None,
        metavar="DIR",
        help="use the hidden traces DIR/chNN/*.toml matching each test's pattern (grading)",
    )
    group.addoption(
        "--hidden-only",
        action="store_true",
        default=False,
        help="with --hidden-traces: run only the hidden cases, not the generated traces",
    )
    group.addoption(
        "--no-pictures",
        action="store_true",
        default=False,
        help="write no sequence diagram and no debugger page of a failure, and leave those of "
        "earlier runs in .twm/failures/ as they are",
    )
    group.addoption(
        "--isolate",
        action="store_true",
        default=False,
        help="run the learner's code in a separate process per test, reachable only through "
        "the ports, so it cannot touch how outcomes are recorded (grading)",
    )
    group.addoption(
        "--isolate-limits",
        default="",
        metavar="SPEC",
        help="limits of that process, e.g. 'answer=10,cpu=30,memory=512,output=16' (seconds "
        "without an answer, CPU seconds, MB of memory beyond its start, MB of output)",
    )
    group.addoption(
        "--world",
        default="sim",
        choices=("sim", "live"),
        help="where the chapter tests run: 'sim', the deterministic simulator (default), or "
        "'live', the real RabbitMQ at 127.0.0.1:5672 (TWM_RABBITMQ_URL) through the same ports: "
        "crash-free and single-crash schedules, no determinism, no replay token",
    )


def _register_profiles() -> None:
    """Register the learner, grading and selfcheck profiles (once; Hypothesis costs ~0.5 s)."""
    global _profiles_registered
    if _profiles_registered:
        return
    _profiles_registered = True
    from hypothesis import HealthCheck, Phase, settings

    # No explain phase: the report of a failure is its trace and timeline, and explaining
    # runs every shrinking step under a line tracer, several times slower.
    phases = [phase for phase in Phase if phase is not Phase.explain]
    common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=phases)
    settings.register_profile("learner", max_examples=60, **common)
    settings.register_profile(
        "grading", max_examples=100, derandomize=True, database=None, print_blob=False, **common
    )
    # The course's self-check only asks whether a known-wrong module is caught, and for
    # which promise: the same examples as grading, without the time spent shrinking them.
    settings.register_profile(
        "selfcheck",
        settings.get_profile("grading"),
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "task(n): the chapter task this test checks")
    config.addinivalue_line("markers", "points(n): the points this test is worth when graded")
    profile = config.getoption("hypothesis_profile", None)
    if profile in PROFILES:
        _register_profiles()
    value = config.getoption("target")
    try:
        root = resolve(value, config.rootpath)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    label = value if value in NAMED else str(root)
    target = Target(root, label)
    if config.getoption("isolate", False):
        from harness.isolation import isolate

        try:
            target = isolate(target, config.getoption("isolate_limits", ""))
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
    config.stash[_state] = {"target": target, "results": [], "manifest": None, "live": None}
    if _live(config):
        if config.getoption("replay"):
            raise pytest.UsageError(
                "--replay replays a simulated case, and live runs have no replay token: "
                "run the replay line without --world live"
            )
        from harness.live.session import LiveSession

        config.stash[_state]["live"] = LiveSession()
    _check_chapters(config)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under ``--isolate``, before the first test of the process that runs the tests (not a
    pytest-xdist controller, whose workers would inherit it), keep this process and the
    learner host it will start on one CPU (:mod:`harness.isolation.pinning`)."""
    state = item.config.stash.get(_state, None)
    if state is None or "cpus" in state or not item.config.getoption("isolate", False):
        return
    from harness.isolation.pinning import keep_to_one_cpu

    state["cpus"] = keep_to_one_cpu()


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_state, None)
    if state is not None and state.get("cpus"):
        from harness.isolation.pinning import give_back

        give_back(state["cpus"])


def _live(config: pytest.Config) -> bool:
    return config.getoption("world", "sim") == "live"


def _check_chapters(config: pytest.Config) -> None:
    """``pytest exercises/ch07`` for a chapter that is not there names the ones that are."""
    for arg in config.args:
        path = Path(arg.split("::")[0])
        chapter = next((part for part in path.parts if _CHAPTER.match(part)), None)
        if chapter is None or (config.invocation_params.dir / path).exists():
            continue
        folder = config.rootpath / "exercises"
        known = sorted(p.name for p in folder.glob("ch*") if any(p.glob("test_*.py")))
        titles = {c.id: c.title for c in _manifest(config).chapters}
        listed = ", ".join(f"{c} ({titles[c]})" if c in titles else c for c in known)
        raise pytest.UsageError(
            f"there is no {arg} in this kit; the chapters with exercises are: {listed or 'none'}"
        )


def _manifest(config: pytest.Config) -> Manifest | None:
    state = config.stash[_state]
    if state["manifest"] is None:
        path = config.rootpath / "exercises" / "info.toml"
        try:
            state["manifest"] = Manifest.load(path) if path.is_file() else Manifest(())
        except ManifestError:
            state["manifest"] = Manifest(())
    return state["manifest"]


def _chapter_of(item: pytest.Item) -> str | None:
    name = Path(item.path).parent.name
    return name if _CHAPTER.match(name) else None


def _task_of(item: pytest.Item) -> int | None:
    marker = item.get_closest_marker("task")
    return int(marker.args[0]) if marker and marker.args else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("task")
    timeout = LIVE_TIMEOUT if _live(config) else CHAPTER_TIMEOUT
    # Chapter tests run in course order: chapter, then task (stable within a task).
    order = {id(item): index for index, item in enumerate(items)}
    items.sort(key=lambda item: (_chapter_of(item) or "", _task_of(item) or 0, order[id(item)]))
    selected, deselected = [], []
    for item in items:
        chapter = _chapter_of(item)
        if chapter and item.get_closest_marker("timeout") is None:
            # The call only: a report being written when the time runs out is never cut short.
            item.add_marker(pytest.mark.timeout(timeout, func_only=True))
        if wanted and not _matches(wanted, chapter, _task_of(item)):
            deselected.append(item)
        else:
            selected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
    chapter_items = [item for item in items if _chapter_of(item)]
    if config.getoption("replay") and len(chapter_items) > 1:
        raise pytest.UsageError(
            f"--replay runs one case of one test, but {len(chapter_items)} tests are selected; "
            "copy the whole replay: line, which names the test (path::test_name)"
        )


def _matches(wanted: list[str], chapter: str | None, task: int | None) -> bool:
    for value in wanted:
        want_chapter, _, number = value.rpartition(".")
        if not number.isdigit():
            raise pytest.UsageError(f"--task {value!r}: expected a task number such as 2 or ch03.2")
        if task == int(number) and (not want_chapter or want_chapter == chapter):
            return True
    return False


@pytest.fixture
def kit(request: pytest.FixtureRequest) -> Iterator[Kit]:
    """The harness, as a chapter test sees it: the target, the chapter's traces, the explorer."""
    config = request.config
    hypothesis_settings = None
    profile = config.getoption("hypothesis_profile", None)
    if profile is None:
        from hypothesis import settings

        _register_profiles()
        hypothesis_settings = settings.get_profile("learner")
    hidden = config.getoption("hidden_traces", None)
    target = config.stash[_state]["target"]
    live = config.stash[_state]["live"]
    if live is not None:
        explorer = _live_explorer(live)
    else:
        explorer = Explorer(
            replay=config.getoption("replay"),
            hypothesis_settings=hypothesis_settings,
            database_key=f"{config.rootpath}\0{request.node.nodeid}\0{target.label}",
        )
    yield Kit(
        target=target,
        traces_dir=Path(request.path).parent / "traces",
        explorer=explorer,
        hidden_dir=Path(hidden) / Path(request.path).parent.name if hidden else None,
        generated=not (hidden and config.getoption("hidden_only")),
    )
    if hasattr(target, "close"):
        target.close()  # under --isolate: stop this test's learner process


def _live_explorer(live):
    """The session's live explorer; without the servers, the test skips saying why (CI=true:
    it fails, since CI should have started them)."""
    from harness.live.session import ServerMissing, in_ci

    try:
        return live.explorer()
    except ServerMissing as error:
        missing = str(error)
    if in_ci():
        pytest.fail(f"CI=true and {missing}", pytrace=False)
    pytest.skip(missing)


# -- failure output ------------------------------------------------------------------------------


def _title(item: pytest.Item) -> str:
    chapter = _chapter_of(item) or "kit"
    task = _task_of(item)
    doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines()
    what = doc[0].rstrip(".") if doc else item.name
    return f"{chapter} · task {task} · {what}" if task else f"{chapter} · {what}"


def _command(item: pytest.Item, *extra: str) -> str:
    config = item.config
    parts = ["pytest", item.nodeid]
    target = config.getoption("target")
    if target != "exercises":
        parts += ["--target", target]
    parts += extra
    return " ".join(shlex.quote(part) for part in parts)


def _hint(item: pytest.Item, failure: Failure) -> Hint | None:
    """The hint that fits ``failure`` among the tasks sharing this test's module (harness.hints)."""
    chapter, task = _chapter_of(item), _task_of(item)
    if not chapter or not task:
        return None
    try:
        return choose(_manifest(item.config), chapter, task, failure)
    except KeyError:
        return None


def _guide(item: pytest.Item) -> report.TaskGuide | None:
    """The test's task: its own TODO in the target, and its section of the chapter README."""
    chapter, number = _chapter_of(item), _task_of(item)
    if not chapter or not number:
        return None
    target = item.config.stash[_state]["target"].root
    readme = Path(item.path).parent / "README.md"
    return task_guide(item.config, chapter, number, target=target, readme=readme)


def task_guide(
    config: pytest.Config,
    chapter: str,
    number: int,
    *,
    target: Path,
    readme: Path | None = None,
) -> report.TaskGuide | None:
    """Task ``number`` of ``chapter``: its TODO in the ``target`` tree, its section of the
    chapter's README (``readme``, by default ``exercises/chNN/README.md``); None when the
    course's manifest does not list it."""
    try:
        task = _manifest(config).task(chapter, number)
    except KeyError:
        return None
    if task is None:
        return None
    root = config.rootpath
    readme = readme or root / "exercises" / chapter / "README.md"
    return report.TaskGuide(
        task.id,
        _line_of(target / task.module, f"TODO({task.id})", root, enclosing=True),
        _line_of(readme, f"### {number}. ", root),
    )


def not_done_text(
    item: pytest.Item,
    error: NotDone,
    *,
    title: str,
    guide: report.TaskGuide | None,
    location: str | None,
    rerun: str,
) -> str:
    """A stub's failure (:func:`harness.report.not_done`), in full the first time a run meets
    its TODO; later tests that meet it again refer to it in two lines."""
    shown = item.config.stash[_state].setdefault("todos_shown", set())
    key = (error.todo, guide.task if guide else None)
    if key in shown:
        return report.title_line(title, "NOT DONE YET") + (
            f"\n  {guide.task if guide else error.todo} is still to be filled (see above)"
        )
    shown.add(key)
    return report.not_done(error, title=title, location=location, rerun=rerun, guide=guide)


def _line_of(path: Path, text: str, root: Path, *, enclosing: bool = False) -> str | None:
    """``path:line`` of the first line holding ``text`` (a heading: with its words; with
    ``enclosing``: with the def it is in), relative to ``root`` when under it; else None."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    number = next((n for n, line in enumerate(lines, 1) if text in line), None)
    if number is None:
        return None
    line = lines[number - 1]
    try:
        shown = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        shown = str(path)
    if not enclosing:
        return f"{shown}:{number} ({line.strip().lstrip('#').strip()})"
    for above in reversed(lines[:number]):
        found = re.match(r"\s*(?:async\s+)?def\s+(\w+)", above)
        if found:
            return f"{shown}:{number} ({found[1]})"
    return f"{shown}:{number}"


def _isolation_error(error: BaseException, name: str) -> bool:
    """Whether ``error`` is :mod:`harness.isolation`'s ``name`` (``NoAnswer``, ``ProcessEnded``).
    A run without ``--isolate`` never imports that package, and so never raises either."""
    child = sys.modules.get("harness.isolation.child")
    return child is not None and isinstance(error, getattr(child, name))


def _loop_of(error: LearnerError, roots: list[Path]) -> tuple[str, str] | None:
    """A loop that never ends, by its kind and the learner's line it was stopped at (None for
    any other error): a run shows each such loop's timeline once, at its first failure."""
    original = error.original
    if not (isinstance(original, RunawayLoop) or _isolation_error(original, "NoAnswer")):
        return None
    location = report.location_of(original, roots)
    return (type(original).__name__, location) if location else None


def _test_name(item: pytest.Item) -> str:
    return getattr(item, "originalname", None) or item.name


def _roots(item: pytest.Item) -> list[Path]:
    return [item.config.stash[_state]["target"].root]


_cancel_timeout = pytest.StashKey[object]()


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: object) -> bool | None:
    """A chapter test's timeout raises :class:`~harness.watchdog.TestTimedOut`, which
    Hypothesis lets through, instead of pytest-timeout's ``Failed`` (see the module)."""
    if not _chapter_of(item) or getattr(settings, "method", "signal") != "signal":
        return None
    if not can_limit_real_time():
        return None
    detect = not getattr(settings, "disable_debugger_detection", False)
    item.stash[_cancel_timeout] = start_real_time_limit(
        float(settings.timeout), paused=_debugging if detect else lambda: False
    )
    return True


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool | None:
    cancel = item.stash.get(_cancel_timeout, None)
    if cancel is None:
        return None
    del item.stash[_cancel_timeout]
    cancel()
    return True


def _debugging() -> bool:
    """Whether a debugger (pdb, an IDE's) is attached, as pytest-timeout tells it."""
    try:
        from pytest_timeout import is_debugging
    except ImportError:
        return False
    return bool(is_debugging())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep: pytest.TestReport = outcome.get_result()
    if _chapter_of(item) is None:
        return
    rep.sections = [
        (key, report.capped(text) if key.startswith("Captured") else text)
        for key, text in rep.sections
    ]
    reported = rep.when == "call" or (rep.when == "setup" and rep.outcome != "passed")
    if reported and _pictures(item):
        _forget_picture(item)  # only this run's failure, if any, leaves its files
    status, promise, message, hint = rep.outcome, None, "", None
    raised = None  # the class of the exception learner code raised, by name
    token = None  # the failing case's replay token, when it has one
    if rep.skipped and call.excinfo is not None:
        message = str(call.excinfo.value)  # e.g. no hidden trace for this test's pattern
    elif call.excinfo is not None and rep.when in ("setup", "call"):
        error = call.excinfo.value
        title = _title(item)
        if _isolation_error(error, "ProcessEnded"):
            error = error.as_learner_error()
        if isinstance(error, NotImplementedError) and "TODO(" in str(error):
            error = NotDone(error, item.name)
            error.__cause__ = call.excinfo.value
        live = item.config.stash[_state]["live"]
        if live is not None and type(error).__name__ in _LIVE_ERRORS:
            status, promise, message, hint = _live_report(item, rep, error, title)
        elif isinstance(error, PromiseBroken):
            token = error.token
            replay = _command(item, "--replay", error.token)
            failure = Failure(
                promise=error.promise.id,
                anomalies=tuple(error.verdict.anomalies),
                test=_test_name(item),
            )
            hint = _hint(item, failure)
            picture = _draw(item, error, title)
            page = _page(item, token, title, replay, hint)
            rep.longrepr = report.broken(
                error,
                title=title,
                replay=replay,
                hint=hint and hint.text,
                picture=picture,
                page=page,
            )
            status, promise, message = "failed", error.promise.id, error.verdict.observed
        elif isinstance(error, NotDone):
            location = report.location_of(error.__cause__ or error, _roots(item))
            task = _task_of(item)
            rerun = f"pytest {Path(item.nodeid.split('::')[0]).parent}" + (
                f" --task {task}" if task else ""
            )
            rep.longrepr = not_done_text(
                item, error, title=title, guide=_guide(item), location=location, rerun=rerun
            )
            status, message = "failed", f"not done yet: {error.text}"
        elif isinstance(error, LearnerError):
            token = getattr(error, "token", None)
            replay = _command(item, "--replay", token) if token else None
            failure = Failure.of_exception(error.original, test=_test_name(item))
            hint, raised = _hint(item, failure), failure.errors[0]
            seen = item.config.stash[_state].setdefault("import_errors_shown", set())
            loops = item.config.stash[_state].setdefault("loops_shown", {})
            said = f"{type(error.original).__name__}: {error.original}"
            loop = _loop_of(error, _roots(item))
            if error.where.startswith("importing ") and (error.where, said) in seen:
                rep.longrepr = report.title_line(title, "ERROR IN YOUR CODE") + (
                    f"\n  the same {said} as above, {error.where}"
                )
            elif loop is not None and loop in loops:
                rep.longrepr = report.loop_again(
                    error,
                    title=title,
                    location=loop[1],
                    first=loops[loop],
                    replay=replay,
                    hint=hint and hint.text,
                )
            else:
                if error.where.startswith("importing "):
                    seen.add((error.where, said))
                if loop is not None:
                    loops[loop] = _test_name(item)
                # A loop stopped by its time limit would cost that limit again to replay.
                stopped = isinstance(error.original, RunawayLoop) or _isolation_error(
                    error.original, "NoAnswer"
                )
                page = None if token is None or stopped else _page(item, token, title, replay, hint)
                rep.longrepr = report.learner_error(
                    error,
                    title=title,
                    roots=_roots(item),
                    replay=replay,
                    hint=hint and hint.text,
                    page=page,
                )
            status = "timeout" if _isolation_error(error.original, "NoAnswer") else "error"
            message = str(error)
        elif isinstance(error, (TargetError, ReplayError, TraceError)):
            rep.longrepr = report.title_line(title, "FAILED") + "\n  " + str(error)
            status, message = "failed", str(error)
        elif isinstance(error, TestTimedOut) or (
            call.excinfo.typename == "Failed" and "Timeout" in str(error)
        ):
            live_world = _live(item.config)
            limit = LIVE_TIMEOUT if live_world else CHAPTER_TIMEOUT
            seconds = error.seconds if isinstance(error, TestTimedOut) else limit
            why = _LIVE_TIMEOUT_WHY if live_world else _TIMEOUT_WHY
            rep.longrepr = (
                report.title_line(title, "TIMEOUT")
                + f"\n  the test did not finish within {seconds:g} s of real time."
                + why
            )
            status, message = "timeout", "timed out"
        elif isinstance(error, (AssertionError, pytest.fail.Exception)) and rep.when == "call":
            message = str(error)
            hint = _hint(item, Failure(test=_test_name(item)))
            rep.longrepr = report.assertion(message, title=title, hint=hint and hint.text)
            status = "failed"
        else:
            message = str(error)
            status = "failed" if rep.when == "call" else "error"
    if reported:
        _record(item, status, promise, message, hint.id if hint else None, raised, token)


_LIVE_ERRORS = ("LiveBroken", "NotPlayedLive", "ServerMissing")
"""What a live test may end with beside the simulator's errors (:mod:`harness.live`)."""


def _live_report(item: pytest.Item, rep: pytest.TestReport, error: Exception, title: str):
    """A live failure's report (:mod:`harness.live.report`), or the skip of a test that live
    mode does not play; returns what :func:`_record` records of it."""
    if type(error).__name__ == "ServerMissing":
        from harness.live.session import in_ci

        if in_ci():
            rep.longrepr = report.title_line(title, "FAILED") + f"\n  CI=true and {error}"
            return "failed", None, str(error), None
    if type(error).__name__ in ("NotPlayedLive", "ServerMissing"):
        rep.outcome = "skipped"
        rep.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {error}")
        return "skipped", None, str(error), None
    from harness.live.report import live_broken

    failure = Failure(
        promise=error.promise.id, anomalies=tuple(error.verdict.anomalies), test=_test_name(item)
    )
    hint = _hint(item, failure)
    case = f"{error.trace.name}/{error.outcome.schedule.token}"
    rep.longrepr = live_broken(
        error,
        title=title,
        again=_command(item, "--world", "live"),
        replay_sim=_command(item, "--replay", case),
        hint=hint and hint.text,
    )
    return "failed", error.promise.id, error.verdict.observed, hint


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    live = config.stash[_state]["live"] if _state in config.stash else None
    for line in live.summary() if live is not None else ():
        terminalreporter.write_line(line)


def _pictures(item: pytest.Item) -> bool:
    return not item.config.getoption("no_pictures", False)


def _draw(item: pytest.Item, error: PromiseBroken, title: str) -> str | None:
    """Write the failure's sequence diagram under .twm/failures/; return its path for people."""
    if not _pictures(item):
        return None
    from harness.picture import sequence_svg

    root = item.config.rootpath
    path = failure_files.picture(root, item.nodeid)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        svg = sequence_svg(
            error.outcome.timeline,
            title=title,
            marks=error.verdict.marks,
            promise=error.promise.statement,
            observed=error.verdict.observed,
        )
        path.write_text(svg, encoding="utf-8")
    except OSError:
        return None  # a read-only checkout still gets the text report
    return str(path.relative_to(root))


def _page(
    item: pytest.Item, token: str, title: str, replay: str | None, hint: Hint | None
) -> str | None:
    """Replay the failing case watched and write its debugger page under .twm/failures/;
    return its file:// address and how to open it, or ``None`` when there is no page."""
    kit = getattr(item, "funcargs", {}).get("kit")
    if kit is None or not _pictures(item):
        return None
    from harness import debugger

    root = item.config.rootpath
    path = failure_files.page(root, item.nodeid)
    try:
        # What learner code prints while the case is replayed was shown with the failure.
        with open(os.devnull, "w") as sink, redirect_stdout(sink), redirect_stderr(sink):
            recording = debugger.record(
                kit, token, title=title, replay=replay or "", hint=hint.text if hint else ""
            )
        debugger.write_page(path, recording)
        failure_files.remember(root, path)
    except OSError:
        return None  # a read-only checkout still gets the text report
    except ReplayError as error:
        return f"not drawn: {error}"
    except Exception as error:  # the page is an extra: the failure's report comes first
        return f"not drawn: the replay raised {type(error).__name__}: {error}"
    return f"{path.resolve().as_uri()}  (grader show opens it)"


def _forget_picture(item: pytest.Item) -> None:
    """A test that no longer fails leaves no picture or page of an old failure behind."""
    failure_files.forget(item.config.rootpath, item.nodeid)


def _record(
    item: pytest.Item,
    status: str,
    promise: str | None,
    message: str,
    hint: str | None = None,
    error: str | None = None,
    replay: str | None = None,
) -> None:
    points = item.get_closest_marker("points")
    item.config.stash[_state]["results"].append(
        {
            "id": item.nodeid,
            "chapter": _chapter_of(item),
            "task": _task_of(item),
            "status": status,
            "max_points": points.args[0] if points and points.args else 0,
            "promise": promise,
            "message": message,
            "hint": hint,
            "error": error,
            "replay": replay,
        }
    )
    if item.config.getoption("hidden_traces", None):
        kit = getattr(item, "funcargs", {}).get("kit")
        item.config.stash[_state]["results"][-1]["hidden_traces"] = kit.hidden_served if kit else 0
    stream = item.config.getoption("results_stream", None)
    if stream:
        with open(stream, "a", encoding="utf-8") as lines:
            lines.write(json.dumps(item.config.stash[_state]["results"][-1]) + "\n")


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("results_json")
    if path:
        results = session.config.stash[_state]["results"]
        Path(path).write_text(json.dumps({"tests": results}, indent=2), encoding="utf-8")
