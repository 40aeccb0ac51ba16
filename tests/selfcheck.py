"""Helpers of the self-check: run a chapter's tests against a target, read the results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.traces import tomllib

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
"""The chapters' tests, traces and manifest; the stubs are pristine_copy.exercises()'s."""
SOLUTIONS = ROOT / "solutions"
MUTANTS = ROOT / "tests" / "mutants"
_BYTECODE = tempfile.TemporaryDirectory(prefix="twm-selfcheck-bytecode-")
"""Where the self-check's runs keep compiled modules and pytest's rewritten asserts, shared
between them: the harness is compiled once per session, not once per run (the code is the
kit's own and the mutants', never a learner's). Removed when the session ends."""


def chapters() -> list[str]:
    """Chapters that have tests."""
    return sorted(p.name for p in EXERCISES.glob("ch*") if any(p.glob("test_*.py")))


UNSET = '(unset: name it in mutant.toml, hint = "chNN.T#K" or "none")'


@dataclass(frozen=True)
class Mutant:
    path: Path
    chapter: str
    task: int
    breaks: str
    story: str
    hint: str | None
    """The hint its failure shows, ``chNN.T#K``; None when no hint fits (``hint = "none"``)."""
    live: str | None = None
    """A live test (``tests/live/...::test_name``) that must catch it on a real server, for
    a mistake no simulated test can see (a clause SQLite ignores)."""

    @property
    def name(self) -> str:
        return f"{self.chapter}/{self.path.name}"


def mutants() -> list[Mutant]:
    found = []
    for meta in sorted(MUTANTS.glob("ch*/*/mutant.toml")):
        data = tomllib.loads(meta.read_text())
        chapter, _, task = data["task"].partition(".")
        hint = data.get("hint", UNSET)
        hint = None if hint == "none" else hint
        found.append(
            Mutant(
                meta.parent,
                chapter,
                int(task),
                data["breaks"],
                data["story"],
                hint,
                data.get("live"),
            )
        )
    return found


def run_chapter(chapter: str, target: str | Path, *extra: str) -> list[dict]:
    """Run ``pytest exercises/CHAPTER --target TARGET`` in a subprocess; return its results."""
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            f"exercises/{chapter}",
            "--target",
            str(target),
            "--results-json",
            str(results),
            "--hypothesis-profile",
            "selfcheck",
            "-p",
            "no:cacheprovider",
            *("-p", "harness.pytest_plugin", "-p", "pytest_timeout"),
            *("-p", "_hypothesis_pytestplugin"),
            "-q",
            "--no-pictures",  # the runs are in the kit's folder: its .twm/failures stays as it is
            *extra,
        ]
        # Only the kit's own plugins: others installed beside it (e.g. by jupyter) cost a
        # second of start-up per run, and the self-check starts one run per mutant.
        env = {**os.environ, "PYTHONPYCACHEPREFIX": _BYTECODE.name}
        env |= {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
        if not results.exists():
            raise AssertionError(
                f"{' '.join(command)} wrote no results (exit {done.returncode}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return json.loads(results.read_text())["tests"]


@dataclass(frozen=True)
class LiveRun:
    status: str
    """passed, failed or skipped"""
    output: str


def run_live(node: str, target: str | Path) -> LiveRun:
    """Run one live test (``tests/live/...::name``) against ``target``; say how it went."""
    command = [sys.executable, "-m", "pytest", node, "--target", str(target)]
    command += ["-p", "no:cacheprovider", "-q", "-rs", "--no-pictures"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    out = done.stdout + done.stderr
    if done.returncode == 0:
        return LiveRun("skipped" if " skipped" in out and " passed" not in out else "passed", out)
    return LiveRun("failed", out)
