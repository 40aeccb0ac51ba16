import sys
from pathlib import Path

# Loaded once here, so pytester's in-process runs find them imported instead of
# importing (and assertion-rewriting) them again for every run.
import hypothesis.strategies  # noqa: F401

import harness.explore  # noqa: F401
import harness.kit  # noqa: F401
import harness.workloads.payments_log  # noqa: F401
import harness.workloads.payments_queue  # noqa: F401

pytest_plugins = ["pytester"]

# The own suite's helper modules (selfcheck.py) sit next to the tests.
sys.path.insert(0, str(Path(__file__).parent))

LONGEST_FIRST = (
    "tests/test_selfcheck.py",
    "tests/grader/test_run_robustness.py",
    "tests/isolation/test_same_results.py",
    "tests/bench/test_regression.py",
    "tests/grader/test_batch.py",
    "tests/grader/test_run_hidden.py",
    "tests/grader/test_gradescope.py",
    "tests/grader/test_release.py",
)
"""The test files that take longest (a minute or two each: the self-check's runs, the graded
submissions), in that order. They start first, so that under ``pytest -n auto --dist loadfile``
no core is left with one of them at the end while the others have finished."""


def pytest_collection_modifyitems(config, items):
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    root = Path(config.rootpath)

    def file_rank(item) -> int:
        try:
            name = Path(item.path).relative_to(root).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(name, len(rank))

    items.sort(key=file_rank)  # stable: within a file, and among the rest, the order stays
