"""A miniature kit for the isolation tests: one chapter, one trace, any learner modules.

``run_minikit(folder, modules, *args)`` writes ``exercises/ch99`` (the trace
and one test per module, named after it) and a target tree holding the
modules, runs pytest on it in a fresh process, and returns every test's
recorded result and the run's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRACE = (ROOT / "exercises" / "ch03" / "traces" / "queue-three-orders.toml").read_text()

HEADER = """
import pytest
from harness.promises import NO_LOSS, NO_SWALLOW, SETTLED
from harness.workloads import payments_queue
"""

TEST = '''

@pytest.mark.task(1)
@pytest.mark.points(2)
def test_{name}(kit):
    """no order is lost, whatever single crash strikes"""
    consumer = kit.component("ch99/{name}.py", "Consumer")
    promises = [NO_SWALLOW, NO_LOSS, SETTLED]
    kit.every_single_crash(payments_queue, consumer, kit.traces("*"), promises)
'''

ACK_FIRST = """
from harness.ports import PaymentFailed


class Consumer:
    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        self.channel.ack(delivery.tag)
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            pass
"""
"""An honest wrong consumer: it acks first, so a crash after the ack loses the order."""


@dataclass
class Run:
    results: dict[str, dict]
    output: str

    def status(self, name: str) -> tuple[str, str | None]:
        result = self.results[name]
        return result["status"], result["promise"]

    def message(self, name: str) -> str:
        return self.results[name]["message"]


def run_minikit(folder: Path, modules: dict[str, str], *args: str, timeout: float = 300) -> Run:
    """Run one test per module of ``modules`` (name → source) in a fresh pytest process."""
    chapter = folder / "exercises" / "ch99"
    (chapter / "traces").mkdir(parents=True, exist_ok=True)
    (chapter / "traces" / "three.toml").write_text(TRACE)
    (chapter / "test_ch99.py").write_text(HEADER + "".join(TEST.format(name=n) for n in modules))
    (folder / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    tree = folder / "tree" / "ch99"
    tree.mkdir(parents=True, exist_ok=True)
    for name, source in modules.items():
        (tree / f"{name}.py").write_text(source)
    results = folder / "results.json"
    results.unlink(missing_ok=True)
    command = [
        *(sys.executable, "-m", "pytest", "exercises/ch99", "--target", str(tree.parent)),
        *("--results-json", str(results), "--hypothesis-profile", "grading"),
        *("-p", "no:cacheprovider", "-q", *args),
    ]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, env=env, timeout=timeout
    )
    output = done.stdout + done.stderr
    assert results.exists(), f"no results (exit {done.returncode}):\n{output[-3000:]}"
    tests = json.loads(results.read_text())["tests"]
    return Run({r["id"].rpartition("::test_")[2]: r for r in tests}, output)
