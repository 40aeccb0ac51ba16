"""``grader run`` on bad input: one clear line on stderr, exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def grader(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "grader.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert done.stdout == ""
    return lines[0]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """Enough of a checkout to get past the first check (grading never starts here)."""
    (tmp_path / "sub" / "exercises").mkdir(parents=True)
    return tmp_path / "sub"


def test_a_folder_that_is_not_a_kit_checkout(tmp_path: Path):
    line = one_line_error(grader("run", str(tmp_path)))
    assert (
        line == f"grader run: {tmp_path}: not a checkout of this kit (it has no exercises/ folder)"
    )


def test_an_unknown_chapter_names_the_known_ones(checkout: Path):
    line = one_line_error(grader("run", str(checkout), "--chapters", "ch99"))
    assert "unknown chapter 'ch99'" in line and "ch03 (Delivery semantics)" in line


def test_a_malformed_hidden_trace_names_the_file(checkout: Path, tmp_path: Path):
    bad = tmp_path / "hidden" / "ch03" / "queue-secret.toml"
    bad.parent.mkdir(parents=True)
    bad.write_text('title = "x"\nstory = "y"\nworkload = "no-such-workload"\n', encoding="utf-8")
    line = one_line_error(grader("run", str(checkout), "--hidden", str(tmp_path / "hidden")))
    assert str(bad) in line and "no-such-workload" in line


def test_a_hidden_folder_with_an_unknown_chapter(checkout: Path, tmp_path: Path):
    (tmp_path / "hidden" / "ch77").mkdir(parents=True)
    line = one_line_error(grader("run", str(checkout), "--hidden", str(tmp_path / "hidden")))
    assert "ch77" in line and "chapter folders" in line


def test_an_unwritable_output_path(checkout: Path, tmp_path: Path):
    missing = tmp_path / "no" / "such" / "folder" / "out.json"
    line = one_line_error(grader("run", str(checkout), "--out", str(missing)))
    assert "does not exist" in line
    line = one_line_error(grader("run", str(checkout), "--out", str(tmp_path)))
    assert "is a folder" in line


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="this system sets no affinity")
@pytest.mark.parametrize(
    "cpus, says", [("9999", "this grader may run on CPUs"), ("one", "such as 0,1")]
)
def test_cpus_the_grader_may_not_use(checkout: Path, cpus: str, says: str):
    line = one_line_error(grader("run", str(checkout), "--cpus", cpus))
    assert line.startswith(f"grader run: --cpus {cpus}: ") and says in line


def test_no_subcommand_shows_the_usage():
    done = grader()
    assert done.returncode == 2 and "run" in done.stderr and "Traceback" not in done.stderr
