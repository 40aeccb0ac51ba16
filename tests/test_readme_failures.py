"""The failures the READMEs show are the failures the kit prints, to the character.

Each README that shows a failure report shows one a known-wrong module of the course
really produces; here that module is put in a learner's checkout and its test run, and
the report must be the README's (the debugger page's address aside, which names the
reader's own folder).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pristine_copy
import pytest

ROOT = Path(__file__).resolve().parents[1]

SHOWN_BY = {
    "README.md": "ch03/ack_before_effect",
    "exercises/ch00/README.md": "ch00/drops_refused_message",
    "exercises/ch01/README.md": "ch01/first_reply_wins",
    "exercises/ch02/README.md": "ch02/commit_in_flight",
    "exercises/ch03/README.md": "ch03/ack_before_effect",
    "exercises/ch04/README.md": "ch04/effect_committed_before_dedup",
    "exercises/ch05/README.md": "ch05/fresh_message_id",
    "exercises/ch06/README.md": "ch06/permanent_retried",
    "exercises/ch07/README.md": "ch07/prefetch_zero",
    "exercises/ch08/README.md": "ch08/state_after_sending",
}
"""Each README showing a failure, and the known-wrong module (tests/mutants) behind it."""

_SHOWN = re.compile(r"```\n(ch\d\d · task [^\n]*FAILED\n.*?)```", re.S)
_ADDRESS = re.compile(r"file:///\S*/\.twm/failures/")


def shown_failure(readme: str) -> str:
    found = _SHOWN.findall((ROOT / readme).read_text(encoding="utf-8"))
    assert len(found) == 1, f"{readme} shows {len(found)} failure reports; name each here"
    return found[0]


def test_every_readme_that_shows_a_failure_is_checked_here():
    readmes = [
        "README.md",
        *(str(p.relative_to(ROOT)) for p in ROOT.glob("exercises/ch*/README.md")),
    ]
    showing = {readme for readme in readmes if _SHOWN.search((ROOT / readme).read_text("utf-8"))}
    assert showing == set(SHOWN_BY)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A learner's checkout in which each chapter's module is the known-wrong one."""
    chapters = sorted({mutant.split("/")[0] for mutant in SHOWN_BY.values()})
    root = pristine_copy.learner_checkout(tmp_path_factory.mktemp("readmes") / "kit", chapters)
    for mutant in sorted(set(SHOWN_BY.values())):
        chapter = mutant.split("/")[0]
        for source in (ROOT / "solutions" / chapter, ROOT / "tests" / "mutants" / mutant / chapter):
            shutil.copytree(source, root / "exercises" / chapter, dirs_exist_ok=True)
    return root


@pytest.mark.parametrize("readme", sorted(SHOWN_BY))
def test_the_failure_a_readme_shows_is_the_one_printed(checkout, readme):
    shown = shown_failure(readme)
    test = re.search(r"replay:   pytest (\S+) ", shown).group(1)
    env = {**os.environ, "COLUMNS": "100", "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", test, "-p", "no:cacheprovider", "-q"]
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True, env=env)
    first = shown.splitlines()[0]
    assert first in done.stdout, f"{test} did not fail as {readme} says:\n{done.stdout[-3000:]}"
    printed = done.stdout[done.stdout.index(first) :].split("\n=")[0].split("\n_")[0]
    fields = {line.split()[0] for line in shown.splitlines()[1:] if line.startswith("  ")}
    kept = [
        _ADDRESS.sub("file:///home/you/kit/.twm/failures/", line)
        for line in printed.rstrip("\n").splitlines()
        if not line.startswith("  ") or line.startswith("   ") or line.split()[0] in fields
    ]
    assert "\n".join(kept) == shown.rstrip("\n"), (
        f"{readme} shows a failure the kit no longer prints"
    )
