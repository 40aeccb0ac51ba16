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
