"""A pytest plugin that times every chapter test's exhaustive crash-pair exploration.

    PYTHONPATH=bench TWM_PAIR_PROBE=pairs.jsonl TWM_PAIR_REPEAT=3 \\
        pytest exercises --target solutions -p pair_probe

Only the chapter tests that call ``kit.every_pair_of_crashes`` are kept (the
others are deselected), so the figure follows the chapters as they change. Each
call is timed as the test makes it, then ``TWM_PAIR_REPEAT - 1`` more times on a
fresh explorer; the best wall and CPU times are appended to the file
``TWM_PAIR_PROBE`` names, one JSON object per call. ``TWM_PAIR_TIMES=K`` makes
each timed sample K explorations (a planted slowdown, see ``bench/ratios.py``)::

    {"test": "exercises/ch03/test_at_most_once.py::test_...", "runs": 73,
     "seconds": 0.21, "cpu": 0.21}
"""

from __future__ import annotations

import inspect
import json
import os
import time

import pytest

from harness.explore import Explorer
from harness.kit import Kit

_ORIGINAL = Kit.every_pair_of_crashes


def _timed(call) -> tuple[int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    runs = call()
    return runs, time.perf_counter() - wall, time.process_time() - cpu


def _probed(self: Kit, workload, factory, traces, promises) -> int:
    def again() -> int:
        return Explorer().every_pair_of_crashes(workload, factory, traces, promises)

    def planted() -> int:
        runs = _ORIGINAL(self, workload, factory, traces, promises)
        for _ in range(int(os.environ.get("TWM_PAIR_TIMES", "1")) - 1):
            again()
        return runs

    runs, wall, cpu = _timed(planted)
    for _ in range(int(os.environ.get("TWM_PAIR_REPEAT", "1")) - 1):
        _, more_wall, more_cpu = _timed(planted)
        wall, cpu = min(wall, more_wall), min(cpu, more_cpu)
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]
    record = {"test": test, "runs": runs, "seconds": wall, "cpu": cpu}
    with open(os.environ["TWM_PAIR_PROBE"], "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    return runs


def _explores_pairs(item: pytest.Item) -> bool:
    function = getattr(item, "function", None)
    try:
        return function is not None and "every_pair_of_crashes" in inspect.getsource(function)
    except (OSError, TypeError):
        return False


def pytest_configure(config: pytest.Config) -> None:
    if "TWM_PAIR_PROBE" not in os.environ:
        raise pytest.UsageError("pair_probe: set TWM_PAIR_PROBE to the file to append times to")
    Kit.every_pair_of_crashes = _probed


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept = [item for item in items if _explores_pairs(item)]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept
