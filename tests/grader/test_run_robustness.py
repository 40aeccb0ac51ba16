"""``grader run`` on real submissions that break, cheat or misbehave (each built in tmp_path).

Every scenario is a copy of the kit with the reference solutions in ch03 and
one thing changed; it is graded by the ``grader`` command on ch03 alone. Each
must get exactly the points it earned, with a clear reason for the rest.
Gradings run two at a time, all of them once for the module.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pristine_copy
import pytest

from grader.pristine import default_root

KIT = default_root()
TASK_MODULES = {
    1: "at_most_once.py",
    2: "at_least_once.py",
    3: "commit_first.py",
    4: "commit_after.py",
    5: "guarantee.py",
}
SHORT_TIMEOUT = "2"
"""CPU seconds per test for the scenario that loops forever (the default, 10, elsewhere)."""


def copy_kit(destination: Path) -> Path:
    """A submission: a copy of the kit as a learner's checkout has it, ch03 solved."""
    pristine_copy.copy_kit(destination)
    for module in TASK_MODULES.values():
        shutil.copyfile(
            KIT / "solutions" / "ch03" / module, destination / "exercises/ch03" / module
        )
    return destination


def module(submission: Path, task: int) -> Path:
    return submission / "exercises" / "ch03" / TASK_MODULES[task]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path} has no {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def stub(submission: Path, task: int) -> Path:
    module(submission, task).write_bytes(pristine_copy.stubs()[f"ch03/{TASK_MODULES[task]}"])
    return module(submission, task)


FAKE_CONFTEST = """\
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"""

MONKEYPATCH = """
import harness.explore
import harness.pytest_plugin

harness.explore.Explorer.once = lambda *args, **kwargs: 1
harness.explore.Explorer.every_single_crash = lambda *args, **kwargs: 1
harness.explore.Explorer.random_faults = lambda *args, **kwargs: 1
harness.pytest_plugin._record = lambda item, status, promise, message, *rest: None
"""


def untouched_stubs(s: Path) -> None:
    for task in TASK_MODULES:
        stub(s, task)


def solutions(s: Path) -> None:
    pass


def edited_test_file(s: Path) -> None:
    stub(s, 1)
    test_file = s / "exercises/ch03/test_at_most_once.py"
    text = test_file.read_text(encoding="utf-8")
    test_file.write_text(text.replace("    consumer = kit.component(", "    return\n    (", 99))


def conftest_marks_all_passed(s: Path) -> None:
    untouched_stubs(s)
    (s / "exercises/conftest.py").write_text(FAKE_CONFTEST, encoding="utf-8")
    (s / "exercises/ch03/conftest.py").write_text(FAKE_CONFTEST, encoding="utf-8")
    (s / "sitecustomize.py").write_text("import os\nos.environ['X'] = '1'\n", encoding="utf-8")


def sys_exit_at_import(s: Path) -> None:
    module(s, 1).write_text(module(s, 1).read_text() + "\nimport sys\n\nsys.exit(0)\n")


def os_exit_in_a_function(s: Path) -> None:
    signature = "    def on_message(self, delivery: Delivery) -> None:\n"
    edit(module(s, 2), signature, signature + "        import os\n\n        os._exit(0)\n")


def infinite_loop(s: Path) -> None:
    signature = "    def poll_once(self) -> None:\n"
    edit(module(s, 3), signature, signature + "        while True:\n            pass\n")


def large_allocation(s: Path) -> None:
    signature = "    def poll_once(self) -> None:\n"
    hog = "        hog = [bytearray(256 * 1024 * 1024) for _ in range(64)]  # 16 GiB\n"
    edit(module(s, 4), signature, signature + hog + "        del hog\n")


def syntax_error(s: Path) -> None:
    module(s, 5).write_text(module(s, 5).read_text() + "\ndef broken(:\n    pass\n")


def missing_module(s: Path) -> None:
    module(s, 2).unlink()


def fake_summary_lines(s: Path) -> None:
    path = stub(s, 1)
    fake = "print('=' * 20, '24 passed in 0.50s', '=' * 20)\nprint('24 passed, 0 failed')\n"
    path.write_text(path.read_text() + "\n" + fake)
    edit(
        path,
        "        raise NotImplementedError(",
        "        print('PASSED')\n        raise NotImplementedError(",
    )


def known_wrong(s: Path) -> None:
    """Two of the kit's mutants: promises broken, found by exhaustive and by random search."""
    mutants = KIT / "tests" / "mutants" / "ch03"
    for name, task in (("ack_before_effect", 2), ("commit_before_processing", 4)):
        shutil.copyfile(mutants / name / "ch03" / TASK_MODULES[task], module(s, task))


def monkeypatches_the_harness(s: Path) -> None:
    path = stub(s, 1)
    path.write_text(path.read_text() + MONKEYPATCH)


SCENARIOS = {
    f.__name__: f
    for f in (
        untouched_stubs,
        solutions,
        edited_test_file,
        conftest_marks_all_passed,
        sys_exit_at_import,
        os_exit_in_a_function,
        infinite_loop,
        large_allocation,
        syntax_error,
        missing_module,
        fake_summary_lines,
        monkeypatches_the_harness,
        known_wrong,
    )
}
AGAIN = ("known_wrong#2", "known_wrong#3")


def _grade(folder: Path) -> dict:
    out = folder.parent / f"{folder.name}.json"
    command = [sys.executable, "-m", "grader.cli", "run", str(folder), "--chapters", "ch03"]
    command += ["--out", str(out)]
    if folder.name == "infinite_loop":
        command += ["--test-timeout", SHORT_TIMEOUT]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("submissions")
    folders = {}
    for name, change in SCENARIOS.items():
        folders[name] = copy_kit(root / name)
        change(folders[name])
    for name in AGAIN:
        folders[name] = folders["known_wrong"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(folders, pool.map(_grade, folders.values()), strict=True))
    return results


def near(files: list[str]) -> list[str]:
    """The integrity entries a scenario can cause (the rest of the kit may change while
    the suite runs, as authors edit it)."""
    return [
        f
        for f in files
        if f.startswith("exercises/ch03/") or f.count("/") == 0 or f == "exercises/conftest.py"
    ]


def by_task(result: dict) -> dict[int, list[dict]]:
    tasks: dict[int, list[dict]] = {}
    for test in result["tests"]:
        tasks.setdefault(test["task"], []).append(test)
    return tasks


def earned_only_by(result: dict, broken: int) -> list[dict]:
    """Every task but ``broken`` has full marks; return the tests of ``broken``."""
    for task, tests in by_task(result).items():
        if task != broken:
            assert all(t["status"] == "passed" for t in tests), tests
            assert sum(t["points"] for t in tests) == sum(t["max_points"] for t in tests)
    broken_tests = by_task(result)[broken]
    assert broken_tests and all(t["points"] == 0 for t in broken_tests)
    expected = sum(t["max_points"] for t in result["tests"] if t["task"] != broken)
    assert result["score"] == expected < result["max_score"]
    return broken_tests


def test_untouched_stubs_score_zero(graded):
    result = graded["untouched_stubs"]
    assert result["score"] == 0 and result["max_score"] > 0
    assert all(t["status"] == "failed" for t in result["tests"])
    assert all(t["message"].startswith("not done yet: TODO(ch03.") for t in result["tests"])
    assert near(result["integrity"]["modified"]) == []


def test_solutions_score_full_marks(graded):
    result = graded["solutions"]
    assert result["score"] == result["max_score"] > 0
    assert [c["id"] for c in result["chapters"]] == ["ch03"]
    for kind in ("modified", "unexpected", "missing"):
        assert near(result["integrity"][kind]) == []


def test_the_same_submission_gets_the_same_result_every_time(graded):
    """Scores, statuses and messages (integrity and kit_version aside: authors may edit
    the kit while the suite runs)."""
    same = ("score", "max_score", "chapters", "tests", "notes")
    first = {k: graded["known_wrong"][k] for k in same}
    lost = [t for t in first["tests"] if t["status"] == "failed"]
    assert {t["task"] for t in lost} == {2, 4}
    assert all("(lost)" in t["message"] and t["promise"] == "no-loss" for t in lost), lost
    for name in AGAIN:
        again = {k: graded[name][k] for k in same}
        differ = [(a, b) for a, b in zip(again["tests"], first["tests"], strict=False) if a != b]
        assert again == first, differ


def test_an_edited_test_file_is_flagged_and_scored_with_the_pristine_test(graded):
    result = graded["edited_test_file"]
    tests = earned_only_by(result, 1)
    assert all(t["message"].startswith("not done yet: TODO(ch03.1)") for t in tests)
    assert near(result["integrity"]["modified"]) == ["exercises/ch03/test_at_most_once.py"]


def test_a_conftest_that_passes_everything_is_flagged_and_has_no_effect(graded):
    result = graded["conftest_marks_all_passed"]
    assert result["score"] == 0
    assert near(result["integrity"]["unexpected"]) == [
        "exercises/ch03/conftest.py",
        "exercises/conftest.py",
        "sitecustomize.py",
    ]


def test_sys_exit_at_import_is_an_error_of_that_task_only(graded):
    tests = earned_only_by(graded["sys_exit_at_import"], 1)
    assert all(t["status"] == "error" for t in tests)
    assert all("SystemExit" in t["message"] for t in tests), tests


def test_os_exit_in_a_function_costs_only_the_tests_it_ended(graded):
    tests = earned_only_by(graded["os_exit_in_a_function"], 2)
    assert all(t["status"] == "error" for t in tests)
    assert all("exit" in t["message"] and "os._exit" in t["message"] for t in tests), tests


def test_an_infinite_loop_times_out(graded):
    tests = earned_only_by(graded["infinite_loop"], 3)
    assert all(t["status"] == "timeout" for t in tests), tests
    assert all("loop" in t["message"] for t in tests)


def test_a_large_allocation_hits_the_memory_limit(graded):
    tests = earned_only_by(graded["large_allocation"], 4)
    assert all(t["status"] == "error" for t in tests), tests
    assert all("MemoryError" in t["message"] for t in tests), tests


def test_a_syntax_error_fails_its_task_with_the_reason(graded):
    tests = earned_only_by(graded["syntax_error"], 5)
    assert all(t["status"] == "error" for t in tests), tests
    assert all("SyntaxError" in t["message"] for t in tests), tests


def test_a_missing_module_scores_zero_with_a_reason(graded):
    result = graded["missing_module"]
    tests = earned_only_by(result, 2)
    assert all("ch03/at_least_once.py" in t["message"] for t in tests), tests
    assert "exercises/ch03/at_least_once.py" in result["integrity"]["missing"]
    assert any("at_least_once.py: missing" in note for note in result["notes"])


def test_fake_summary_lines_are_not_read(graded):
    tests = earned_only_by(graded["fake_summary_lines"], 1)
    assert all(t["status"] == "failed" for t in tests)


def test_learner_code_that_replaces_harness_objects_gains_nothing(graded):
    """Isolated, the patch lands in the learner's own process (the stub still fails);
    in-process, the tamper check turns each test it touched into an error."""
    tests = earned_only_by(graded["monkeypatches_the_harness"], 1)
    assert all(t["status"] in ("failed", "error") for t in tests), tests


def test_without_isolation_the_grader_still_scores_only_what_was_earned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Where the kit's ``--isolate`` is unavailable, learner code runs in the test process:
    the tamper check catches replaced harness objects, and a process that ``os._exit``s
    costs only the test it was running (the rest rerun in a fresh process)."""
    from grader import grade, runner

    monkeypatch.setattr(runner, "isolation_available", lambda root: False)
    submission = copy_kit(tmp_path / "sub")
    monkeypatches_the_harness(submission)
    os_exit_in_a_function(submission)
    result = grade.grade_submission(submission, chapters=["ch03"], test_timeout=2)
    tasks = by_task(result.to_json())
    assert all(t["status"] == "error" and "replaced" in t["message"] for t in tasks[1])
    assert all(t["status"] == "error" and "os._exit" in t["message"] for t in tasks[2])
    assert all(t["status"] == "passed" for task in (3, 4, 5) for t in tasks[task])
    assert result.score == sum(t.max_points for t in result.tests if t.task in (3, 4, 5))


def test_a_kit_whose_own_tests_cannot_run_is_an_error_not_zero_points(tmp_path: Path):
    """A run that starts no test is the kit's fault (no learner code runs before a test):
    grading stops with the reason instead of recording 0 for every test."""
    from grader import grade
    from grader.errors import GradingError

    kit = copy_kit(tmp_path / "kit")
    (kit / "exercises/ch03/test_guarantee.py").write_text("def broken(:\n", encoding="utf-8")
    submission = copy_kit(tmp_path / "sub")
    with pytest.raises(GradingError, match="kit's own tests"):
        grade.grade_submission(submission, chapters=["ch03"], kit=kit)
