"""Live tests: the kit against real servers (marked, e.g. ``@pytest.mark.postgres``).

A live test runs a chapter task's code, named by its ``live_task`` marker
(``@pytest.mark.live_task("ch05.3")``). On a stub that still raises
``NotImplementedError`` it fails the way a chapter test does: NOT DONE YET,
with the task's TODO, its README section and ``grader hint chNN.N``, in full the
first time and in two lines after that, instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import servers

from harness import pytest_plugin, report
from harness.errors import NotDone
from harness.targets import resolve

SERVERS = ("postgres", "rabbitmq")
"""The markers that name the server a live test needs."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres: needs a PostgreSQL server (skipped without one, unless CI=true)"
    )
    config.addinivalue_line(
        "markers", "live_task(id): the chapter task (chNN.N) whose code this live test runs"
    )


def target_root(config: pytest.Config) -> tuple[Path, str]:
    """The tree live tests run: ``--target`` when given on the command line, else solutions."""
    explicit = any(arg.startswith("--target") for arg in config.invocation_params.args)
    value = config.getoption("target") if explicit else "solutions"
    return resolve(value, config.rootpath), value


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep: pytest.TestReport = outcome.get_result()
    marker = item.get_closest_marker("live_task")
    if marker is None or call.excinfo is None or rep.when not in ("setup", "call"):
        return
    error = call.excinfo.value
    if isinstance(error, NotImplementedError) and "TODO(" in str(error):
        error = NotDone(error, item.name)
        error.__cause__ = call.excinfo.value
    if not isinstance(error, NotDone):
        return
    chapter, _, number = marker.args[0].partition(".")
    root, value = target_root(item.config)
    doc = (getattr(item, "function", None).__doc__ or "").strip().split("\n\n")[0]
    what = " ".join(doc.split()).rstrip(".") or item.name
    title = f"{chapter} · task {number} · live · {what}"
    servers = [name for name in SERVERS if item.get_closest_marker(name)]
    rerun = f"pytest {Path(item.nodeid.split('::')[0]).parent}" + "".join(
        f" -m {name}" for name in servers
    )
    rerun += f" --target {value}"
    location = report.location_of(error.__cause__ or error, [root]) or error.location
    guide = pytest_plugin.task_guide(item.config, chapter, int(number), target=root)
    rep.longrepr = pytest_plugin.not_done_text(
        item, error, title=title, guide=guide, location=location, rerun=rerun
    )


def _missing(reason: str) -> None:
    """Skip with ``reason``; in CI (CI=true) fail instead (:func:`servers.missing`)."""
    servers.missing(reason, then=".ci/run should have started it")


@pytest.fixture(scope="module")
def dsn() -> str:
    """The libpq string of the PostgreSQL server (skipped without one, see :func:`_missing`)."""
    from harness.live.servers import ServerMissing, postgres_dsn

    try:
        return postgres_dsn()
    except ServerMissing as error:
        _missing(str(error))
        raise AssertionError("unreachable") from None


@pytest.fixture(scope="module")
def rabbitmq() -> str:
    """Where RabbitMQ answers, for people (skipped without one, see :func:`_missing`)."""
    from harness.live.servers import ServerMissing, rabbitmq_parameters

    try:
        parameters = rabbitmq_parameters()
    except ServerMissing as error:
        _missing(str(error))
    return f"{parameters.host}:{parameters.port}"
