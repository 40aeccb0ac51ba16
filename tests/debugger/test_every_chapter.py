"""Every chapter's failures get their debugger page, with nothing in the page's code about it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pristine_copy
import pytest
import selfcheck

from harness import failure_files


def _one_mutant_per_chapter() -> dict[str, selfcheck.Mutant]:
    """Per chapter, the first known-wrong module that breaks a promise of a trace (rather
    than an assertion on a returned value, or by raising)."""
    from harness import promises

    ids = {value.id for value in vars(promises).values() if isinstance(value, promises.Promise)}
    chosen: dict[str, selfcheck.Mutant] = {}
    for mutant in selfcheck.mutants():
        if not mutant.live and mutant.breaks in ids:
            chosen.setdefault(mutant.chapter, mutant)
    return chosen


MUTANTS = _one_mutant_per_chapter()


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    return pristine_copy.copy_kit(tmp_path_factory.mktemp("pages") / "kit")


@pytest.mark.parametrize("chapter", sorted(MUTANTS))
def test_each_failing_trace_of_a_chapter_has_its_page(kit, chapter):
    """a known-wrong module's every failure with a replay token names a page of that case"""
    mutant = MUTANTS[chapter]
    results = kit / f"{chapter}.json"
    command = [sys.executable, "-m", "pytest", f"exercises/{chapter}", "--target", str(mutant.path)]
    command += ["--task", str(mutant.task), "--results-json", str(results)]
    command += ["-p", "no:cacheprovider", "--hypothesis-profile", "selfcheck"]
    done = subprocess.run(command, cwd=kit, capture_output=True, text=True, timeout=300)
    assert "not drawn" not in done.stdout, done.stdout[-3000:]
    failed = [r for r in json.loads(results.read_text())["tests"] if r["replay"]]
    assert failed, f"{mutant.name} broke no promise with a replay token:\n{done.stdout[-2000:]}"
    for result in failed:
        page = failure_files.page(kit, result["id"])
        assert page.is_file(), f"{result['id']} failed without a page"
        assert result["replay"] in page.read_text(encoding="utf-8")
        assert f"debugger  {page.resolve().as_uri()}" in done.stdout


def test_every_chapter_is_drawn_here():
    """a chapter added later is checked too: it has a known-wrong module breaking a promise"""
    assert sorted(MUTANTS) == selfcheck.chapters()
