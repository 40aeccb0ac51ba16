"""``grader show``: the last failure's debugger page, opened in a browser or its address printed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pristine_copy
import pytest

from grader import pristine

KIT = pristine.default_root()
ACK_BEFORE_CHARGE = KIT / "tests" / "mutants" / "ch03" / "ack_before_effect" / "ch03"
GRADER = [sys.executable, "-c", "from grader.cli import main; raise SystemExit(main())"]


def grader(root: Path, *args: str, browser: str | None = None) -> subprocess.CompletedProcess:
    """``grader ARGS`` in ``root`` where no browser can be found, or with $BROWSER set."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PATH"] = str(Path(sys.executable).parent)  # no xdg-open, no text-mode browser
    env.pop("BROWSER", None)
    if browser:
        env["BROWSER"] = browser
    return subprocess.run(
        [*GRADER, *args], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )


def failing_run(root: Path, *extra: str) -> str:
    command = [sys.executable, "-m", "pytest", "exercises/ch03", "--task=2", "-q", *extra]
    command += ["-p", "no:cacheprovider"]
    run = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout[-3000:]
    return run.stdout


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A learner's checkout of ch03 whose at-least-once consumer acks before it charges,
    after one run of task 2's tests."""
    root = tmp_path_factory.mktemp("show") / "checkout"
    pristine_copy.learner_checkout(root, ["ch03"])
    for module in ACK_BEFORE_CHARGE.glob("*.py"):
        shutil.copy(module, root / "exercises" / "ch03" / module.name)
    failing_run(root)
    return root


def path_of(address: str) -> Path:
    assert address.startswith("file:///"), address
    return Path(unquote(urlparse(address).path))


def test_show_opens_the_last_failures_page_in_the_browser(checkout, tmp_path):
    """$BROWSER is handed the file:// address of the page the last failure wrote"""
    said = tmp_path / "browser-was-given"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {said}\n')
    browser.chmod(0o755)
    run = grader(checkout, "show", browser=f"{browser} %s")
    assert run.returncode == 0, run.stderr
    page = path_of(said.read_text())
    assert page.parent == checkout / ".twm" / "failures" and page.suffix == ".html"
    assert run.stdout.strip() == f"opened {page.as_uri()}"
    text = page.read_text(encoding="utf-8")
    assert "was never charged (lost)" in text, "the page is not about this failure"
    assert "--replay" in text


def test_without_a_browser_show_prints_the_address(checkout):
    """no browser to start: the address on stdout, one line on stderr saying so, exit 0"""
    run = grader(checkout, "show")
    assert run.returncode == 0, run.stderr
    assert path_of(run.stdout.strip()).is_file()
    assert run.stderr.strip() == "no browser could be started here: open that address in one"
    printed = grader(checkout, "show", "--print")
    assert printed.stdout == run.stdout and printed.stderr == ""


def test_show_picks_a_failing_test_by_name_and_lists_them_when_none_fits(checkout):
    """part of a test's name chooses its page; a name that fits none lists the failing tests"""
    failures = sorted((checkout / ".twm" / "failures").glob("*.html"))
    assert len(failures) >= 2, "task 2 should fail more than one test with this consumer"
    first = failures[0].stem.split(".py_", 1)[1]
    run = grader(checkout, "show", first, "--print")
    assert path_of(run.stdout.strip()) == failures[0]
    wrong = grader(checkout, "show", "no_such_test", "--print")
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.count("\n") == 1 and first in wrong.stderr, wrong.stderr


def test_show_says_how_to_get_a_page_when_there_is_none(tmp_path):
    """a checkout whose tests never failed: one line naming what writes a page, exit 2"""
    root = tmp_path / "checkout"
    pristine_copy.learner_checkout(root, ["ch00"])
    run = grader(root, "show")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "pytest exercises/chNN" in run.stderr, run.stderr


def test_show_outside_a_kit_checkout_is_one_line(tmp_path):
    run = grader(tmp_path, "show")
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "not inside a checkout of the kit" in run.stderr


def test_no_pictures_writes_no_page_and_leaves_the_old_ones(tmp_path):
    """--no-pictures: no picture, no page, no lines naming them; the files of an earlier
    run stay as they were (grader progress runs so, beside your own pytest runs)"""
    root = tmp_path / "checkout"
    pristine_copy.learner_checkout(root, ["ch03"])
    for module in ACK_BEFORE_CHARGE.glob("*.py"):
        shutil.copy(module, root / "exercises" / "ch03" / module.name)
    failures = root / ".twm" / "failures"
    out = failing_run(root, "--no-pictures")
    assert "debugger" not in out and "picture" not in out
    assert not failures.exists() or not any(failures.iterdir())
    assert grader(root, "show").returncode == 2
    out = failing_run(root)
    assert "debugger  file:///" in out and "(grader show opens it)" in out
    before = {p.name: p.read_bytes() for p in failures.iterdir()}
    assert any(name.endswith(".html") for name in before)
    failing_run(root, "--no-pictures")
    assert {p.name: p.read_bytes() for p in failures.iterdir()} == before
