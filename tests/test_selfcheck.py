"""The self-check: the course checks itself (DESIGN.md §4).

For every chapter: every graded test fails on the stubs, every test passes on
the solutions, and every mutant (a known-wrong implementation a learner would
plausibly write) is caught by at least one test of its task, which names the
promise the mutant was written to break and shows the hint an author chose for
that mistake. Plus the manifest's rules
(rustlings'): every task is in the manifest with its module in both trees,
every stub has its TODO, no solution has one, every task has a mutant.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import pristine_copy
import pytest
from selfcheck import (
    EXERCISES,
    SOLUTIONS,
    UNSET,
    Mutant,
    chapters,
    mutants,
    run_chapter,
    run_live,
)

from harness import promises
from harness.manifest import Manifest

MANIFEST = Manifest.load(EXERCISES / "info.toml")
LIVE = EXERCISES.parent / "tests" / "live"
CHAPTERS = chapters()
MUTANTS = mutants()


@cache
def _all_runs() -> dict[str, list[dict]]:
    """Every run the self-check needs, in parallel subprocesses (about a second each)."""
    stubs = pristine_copy.exercises()  # the stubs as shipped, whatever the working tree holds
    jobs = {f"stubs:{c}": (c, stubs, ()) for c in CHAPTERS}
    jobs |= {f"solutions:{c}": (c, "solutions", ()) for c in CHAPTERS}
    jobs |= {
        f"mutant:{m.name}": (m.chapter, m.path, ("--task", str(m.task)))
        for m in MUTANTS
        if not m.live
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(run_chapter, *job[:2], *job[2]) for key, job in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_graded_test_fails_on_the_stubs(chapter):
    """the stubs score 0: every graded test fails on them"""
    results = _all_runs()[f"stubs:{chapter}"]
    assert results, f"{chapter} ran no test"
    passed = [r["id"] for r in results if r["status"] == "passed" and r["max_points"]]
    assert not passed, f"these graded tests pass on the untouched stubs: {passed}"
    ungraded = [r["id"] for r in results if not r["max_points"] or not r["task"]]
    assert not ungraded, f"these chapter tests have no task or no points marker: {ungraded}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_test_passes_on_the_solutions(chapter):
    """the solutions score full marks"""
    results = _all_runs()[f"solutions:{chapter}"]
    failed = {r["id"]: r["message"] for r in results if r["status"] != "passed"}
    assert results and not failed, f"the reference solutions fail: {failed}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_every_mutant_is_caught_naming_the_promise_it_breaks(mutant: Mutant):
    """each mutant is caught by a test of its task, for the promise it was written to break"""
    assert mutant.hint != UNSET, f"{mutant.path / 'mutant.toml'}: hint {UNSET}"
    if mutant.live:
        _caught_live(mutant)
        return
    results = _all_runs()[f"mutant:{mutant.name}"]
    assert results, f"no test of {mutant.chapter} task {mutant.task} ran against {mutant.name}"
    caught = [r for r in results if r["status"] != "passed"]
    assert caught, f"no test catches the mutant {mutant.name}: {mutant.story}"
    if mutant.breaks == "assertion":
        named = [r for r in caught if r["promise"] is None and r["status"] == "failed"]
    elif mutant.breaks.startswith("error:"):
        named = [r for r in caught if r["error"] == mutant.breaks.removeprefix("error:")]
    else:
        named = [r for r in caught if r["promise"] == mutant.breaks]
    assert named, (
        f"{mutant.name} ({mutant.story}) is caught, but not for breaking {mutant.breaks!r}: "
        f"{[(r['id'], r['promise'], r['message']) for r in caught]}"
    )
    hinted = [r for r in named if r["hint"] == mutant.hint]
    assert hinted, (
        f"{mutant.name} breaks {mutant.breaks!r} as it should, but its failures show the hints "
        f"{sorted({str(r['hint']) for r in named})}, not {mutant.hint}: {mutant.story}"
    )


def _caught_live(mutant: Mutant) -> None:
    """A mutant only a real server shows: its live test must fail, for its promise and hint."""
    run = run_live(mutant.live, mutant.path)
    if run.status == "skipped":
        pytest.skip(f"{mutant.name} is caught only on a live server: {run.output[-300:]}")
    assert run.status == "failed", f"{mutant.live} does not catch {mutant.name}: {mutant.story}"
    assert f"broken promise {mutant.breaks!r}" in run.output, (
        f"{mutant.live} catches {mutant.name}, not for breaking {mutant.breaks!r}:\n"
        f"{run.output[-2000:]}"
    )
    if mutant.hint:
        task, _, number = mutant.hint.partition("#")
        chapter, _, n = task.partition(".")
        text = MANIFEST.task(chapter, int(n)).hints[int(number) - 1]
        assert f"hint     {text}" in run.output, (
            f"{mutant.live} catches {mutant.name} without hint {mutant.hint}:\n{run.output[-2000:]}"
        )


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_task_has_a_mutant(chapter):
    """an exercise without mutants is not done"""
    tasks = {t.number for t in MANIFEST.chapter(chapter).tasks}
    covered = {m.task for m in MUTANTS if m.chapter == chapter}
    assert tasks <= covered, f"{chapter} tasks without a mutant: {sorted(tasks - covered)}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_manifest_the_stubs_and_the_solutions_agree(chapter):
    """every task's module is in both trees; stubs carry their TODO, solutions none"""
    tasks = MANIFEST.chapter(chapter).tasks
    modules = {t.module for t in tasks}
    stubs = pristine_copy.exercises()
    for task in tasks:
        stub, solution = stubs / task.module, SOLUTIONS / task.module
        shown = f"exercises/{task.module}"
        assert stub.is_file(), f"{task.id}: the stub {shown} is missing"
        assert solution.is_file(), f"{task.id}: the solution {solution} is missing"
        assert f"TODO({task.id})" in stub.read_text(), f"{shown} has no TODO({task.id})"
        assert "TODO(" not in solution.read_text(), f"{solution} still has a TODO"
        assert task.hints, f"{task.id} has no hint in info.toml"
    on_disk = {
        str(p.relative_to(stubs))
        for p in (stubs / chapter).glob("*.py")
        if not p.name.startswith(("test_", "conftest"))
    }
    assert on_disk == modules, f"modules not in the manifest, or missing: {on_disk ^ modules}"
    mirrored = {str(p.relative_to(SOLUTIONS)) for p in (SOLUTIONS / chapter).glob("*.py")}
    assert mirrored == modules, f"solutions/ does not mirror exercises/: {mirrored ^ modules}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_todo_names_a_task_of_the_manifest(chapter):
    """a TODO(chNN.N) in a stub refers to a real task"""
    ids = {t.id for t in MANIFEST.chapter(chapter).tasks}
    for stub in (pristine_copy.exercises() / chapter).glob("*.py"):
        for todo in re.findall(r"TODO\(([\w.]+)\)", stub.read_text()):
            shown = f"exercises/{chapter}/{stub.name}"
            assert todo in ids, f"{shown}: TODO({todo}) names no task of the manifest"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_hint_selector_names_a_real_promise_and_test(chapter):
    """a hint_for selector that names an unknown promise or test would never be shown"""
    known = {p.id for p in vars(promises).values() if isinstance(p, promises.Promise)}
    known.add(promises.duplicates_within(1).id)
    tests = set()
    for path in [*(EXERCISES / chapter).glob("test_*.py"), *LIVE.glob("test_*.py")]:
        tests |= set(re.findall(r"^def (test_\w+)", path.read_text(), flags=re.M))
    for task in MANIFEST.chapter(chapter).tasks:
        for rule in task.hint_for:
            for kind, value in rule.terms:
                if kind == "promise":
                    assert value in known, f"{task.id}: hint_for {rule.selector!r}: no such promise"
                if kind == "test":
                    assert value in tests, f"{task.id}: hint_for {rule.selector!r}: no such test"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_task_has_its_section_in_the_chapter_readme(chapter):
    """a stub failure sends the learner to `### N. Title` of the chapter README: it must exist"""
    readme = (EXERCISES / chapter / "README.md").read_text(encoding="utf-8")
    for task in MANIFEST.chapter(chapter).tasks:
        assert f"\n### {task.number}. " in readme, (
            f"{chapter}/README.md has no '### {task.number}. '"
        )
