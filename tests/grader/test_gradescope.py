"""Gradescope: results.json per Gradescope's autograder specification, and the autograder zip."""

from __future__ import annotations

import dataclasses
import doctest
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pristine_copy
import pytest

from grader.formats import gradescope
from grader.result import ChapterResult, Integrity, SubmissionResult, TestResult

KIT = Path(__file__).resolve().parents[2]
SCRIPTS = KIT / "grading" / "gradescope"
# The fields Gradescope's specification names, at the top level and for a test.
TOP_LEVEL = {
    "score",
    "execution_time",
    "output",
    "output_format",
    "test_output_format",
    "test_name_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
}
PER_TEST = {
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
    "extra_data",
}


def sample() -> SubmissionResult:
    tests = [
        TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "passed", 2, 2, title="kept"),
        TestResult(
            "exercises/ch03/test_a.py::test_y", "ch03", 2, "failed", 0, 3, "order o-2 was lost"
        ),
        TestResult("exercises/ch03/test_a.py::test_z", "ch03", 2, "timeout", 0, 1, "timed out"),
        TestResult(
            "exercises/ch03/test_a.py::test_y[hidden]",
            "ch03",
            2,
            "failed",
            0,
            3,
            "order o-9 was lost at t=0.4",
            hidden=True,
        ),
    ]
    return SubmissionResult(
        2,
        9,
        [ChapterResult("ch03", "Delivery semantics", 2, 9)],
        tests,
        Integrity(modified=["exercises/ch03/test_a.py"]),
    )


def test_results_json_follows_the_specification():
    """score, and per test name, score, max_score, status, output, visibility: nothing else"""
    data = json.loads(gradescope.render(sample()))
    assert set(data) <= TOP_LEVEL
    assert data["score"] == 2
    assert sum(t["score"] for t in data["tests"]) == data["score"]
    for test in data["tests"]:
        assert set(test) <= PER_TEST
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in gradescope.VISIBILITIES
    statuses = [t["status"] for t in data["tests"]]
    assert statuses == ["passed", "failed", "failed", "failed"]
    assert "lost" in data["tests"][1]["output"]
    assert "exercises/ch03/test_a.py" in data["output"]  # the tampered file is named


def test_every_text_is_plain_and_the_log_is_for_the_teacher():
    """output_format text: simple_format, the default, would render a file name as HTML"""
    result = sample()
    tampered = Integrity(unexpected=["exercises/<img src=x onerror=alert(1)>.py"])
    data = json.loads(gradescope.render(dataclasses.replace(result, integrity=tampered)))
    assert data["output_format"] == "text"
    assert data["test_output_format"] == data["test_name_format"] == "text"
    assert data["stdout_visibility"] == "hidden"
    assert "<img" in data["output"]  # named as it is, shown as text


def test_hidden_cases_wait_until_the_teacher_publishes_the_grades():
    """after_published: the spec's hidden never shows them, after_due_date shows them on a date"""
    data = json.loads(gradescope.render(sample()))
    tests = data["tests"]
    assert [t["visibility"] for t in tests] == ["visible", "visible", "visible", "after_published"]
    assert "o-9" in tests[3]["output"]  # the teacher sees the trace's detail
    assert "pytest" not in tests[3]["output"]
    hidden = json.loads(gradescope.render(sample(), hidden_visibility="hidden"))["tests"][3]
    assert hidden["visibility"] == "hidden"
    with pytest.raises(ValueError, match="expected one of"):
        gradescope.render(sample(), hidden_visibility="later")


def test_the_always_visible_output_leaves_hidden_cases_out():
    """the top-level output shows the visible tests' points and only how many hidden cases wait"""
    hidden_fails = sample()
    passes = dataclasses.replace(hidden_fails.tests[3], status="passed", points=3, message="")
    hidden_passes = dataclasses.replace(
        hidden_fails, score=5, tests=[*hidden_fails.tests[:3], passes]
    )
    outputs = [json.loads(gradescope.render(r))["output"] for r in (hidden_fails, hidden_passes)]
    assert outputs[0] == outputs[1]  # nothing in it tells whether a hidden case passed
    assert "o-9" not in outputs[0]
    assert "2 / 6" in outputs[0] and "1 hidden case" in outputs[0]
    no_hidden = dataclasses.replace(hidden_fails, tests=hidden_fails.tests[:3], max_score=6)
    assert "Score: 2 / 6" in json.loads(gradescope.render(no_hidden))["output"]


def test_a_failure_s_output_ends_with_its_replay_line():
    """the command that reruns exactly the failing case, when the failure has one; a hidden
    case's replay would name the teacher's trace, so it has none"""
    token = "queue-flaky-gateway~0.1.2/1a@s0"
    result = sample()
    lost, timed_out, passed = result.tests[1], result.tests[2], result.tests[0]
    tests = [
        dataclasses.replace(passed, replay=""),
        dataclasses.replace(lost, id=lost.id + "[two-orders]", replay=token),
        timed_out,
        dataclasses.replace(result.tests[3], replay=token),
    ]
    outputs = [
        t["output"]
        for t in json.loads(gradescope.render(dataclasses.replace(result, tests=tests)))["tests"]
    ]
    assert outputs[0] == "passed"
    assert outputs[1] == (
        "failed: order o-2 was lost\n"
        "replay: pytest 'exercises/ch03/test_a.py::test_y[two-orders]' --replay "
        "'queue-flaky-gateway~0.1.2/1a@s0'"
    )
    # Without a replay token, the command that reruns the test.
    rerun = "run it yourself: pytest exercises/ch03/test_a.py::test_z"
    assert outputs[2] == f"timeout: timed out\n{rerun}"
    assert "replay" not in outputs[3] and token not in outputs[3]


def test_the_module_examples_run():
    """the docstring example of the format shows what it says"""
    assert doctest.testmod(gradescope).failed == 0


# -- the autograder zip, run as Gradescope runs it ------------------------------------------------

ANSWERS = ("kit/solutions/", "kit/tests/mutants/", "kit/bench/")


def make_zip(out: Path, *args: str, kit: Path = KIT) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPTS / "make_autograder.py"), "--out", str(out), *args]
    return subprocess.run([*command, "--kit", str(kit)], capture_output=True, text=True)


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True)
    return done.stdout


def test_the_zip_holds_the_committed_kit_and_no_uncommitted_change(tmp_path):
    """built with git archive: an edit the teacher did not commit never reaches students"""
    clone = tmp_path / "kit"
    git(tmp_path, "clone", "--quiet", "--no-hardlinks", str(KIT), str(clone))
    readme = clone / "exercises" / "ch00" / "README.md"
    committed = readme.read_bytes()
    readme.write_bytes(committed + b"\nUNCOMMITTED: the answer is 42\n")
    (clone / "exercises" / "ch00" / "notes.py").write_text("ANSWER = 42\n")  # untracked
    done = make_zip(tmp_path / "a.zip", kit=clone)
    assert done.returncode == 0, done.stderr
    assert "uncommitted" in done.stderr and "README.md" in done.stderr
    head = git(clone, "rev-parse", "HEAD").strip()
    assert head[:12] in done.stdout
    with zipfile.ZipFile(tmp_path / "a.zip") as opened:
        names = set(opened.namelist())
        assert opened.read("kit/exercises/ch00/README.md") == committed
    assert "kit/exercises/ch00/notes.py" not in names
    tracked = {f"kit/{n}" for n in git(clone, "ls-files").splitlines()}
    assert {n for n in names if n.startswith("kit/")} <= tracked | {"kit/reference-digests.json"}


def test_the_zip_packs_the_revision_it_is_given(tmp_path):
    """--ref v1: the kit as tagged, whatever was committed since"""
    clone = tmp_path / "kit"
    git(tmp_path, "clone", "--quiet", "--no-hardlinks", str(KIT), str(clone))
    git(clone, "tag", "v1")
    readme = clone / "exercises" / "ch00" / "README.md"
    tagged = readme.read_bytes()
    readme.write_bytes(tagged + b"\nafter the tag\n")
    identity = ["-c", "user.name=T", "-c", "user.email=t@example.org"]
    git(clone, *identity, "commit", "--quiet", "-am", "after the tag")
    assert make_zip(tmp_path / "v1.zip", "--ref", "v1", kit=clone).returncode == 0
    with zipfile.ZipFile(tmp_path / "v1.zip") as opened:
        assert opened.read("kit/exercises/ch00/README.md") == tagged
    unknown = make_zip(tmp_path / "x.zip", "--ref", "no-such-tag", kit=clone)
    assert unknown.returncode == 2 and "no-such-tag" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_the_builder_refuses_a_kit_that_is_not_a_git_checkout(tmp_path):
    """a copy without .git: one line that says how, exit 2, no zip"""
    plain = copy_kit(tmp_path / "plain")
    done = make_zip(tmp_path / "p.zip", kit=plain)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not a git checkout" in done.stderr
    assert "git commit" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "p.zip").exists()


def copy_kit(folder: Path, *, solved: str | None = None) -> Path:
    """A learner's checkout of the kit: its stubs untouched, or chapter ``solved`` solved."""
    pristine_copy.copy_kit(folder)
    if solved:
        for module in (KIT / "solutions" / solved).glob("*.py"):
            shutil.copy(module, folder / "exercises" / solved / module.name)
    return folder


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    """The uploaded zip unpacked as Gradescope lays it out: /autograder/source, run_autograder.
    Built from a committed copy of the kit with its stubs untouched, whatever this checkout
    holds or has committed in exercises/."""
    root = tmp_path_factory.mktemp("gradescope") / "autograder"
    (root / "source").mkdir(parents=True)
    hidden = root.parent / "hidden" / "ch00"
    hidden.mkdir(parents=True)
    shutil.copy(KIT / "exercises" / "ch00" / "traces" / "all-up.toml", hidden / "all-up.toml")
    archive = root.parent / "autograder.zip"
    kit = pristine_copy.checkout(root.parent / "kit")
    done = make_zip(archive, "--hidden", str(hidden.parent), kit=kit)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        assert {"setup.sh", "run_autograder", "autograde.py"} <= set(names)  # at the root
        assert "kit/exercises/info.toml" in names and "hidden/ch00/all-up.toml" in names
        assert not any("/.git/" in n or "__pycache__" in n for n in names)
        opened.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    install(root)
    return root


def install(root: Path) -> None:
    """What setup.sh does, without the network: an environment of its own in which the kit
    from the zip comes first and this interpreter's packages (pytest, Hypothesis) follow."""
    venv.create(root / "venv", with_pip=False, system_site_packages=False)
    found = subprocess.run(
        [
            str(root / "venv" / "bin" / "python"),
            "-c",
            "import site; print(site.getsitepackages()[0])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [str(root / "source" / "kit"), sysconfig.get_paths()["purelib"]]
    Path(found.stdout.strip(), "kit.pth").write_text("\n".join(lines) + "\n")


def test_the_zip_holds_no_solutions_nor_what_only_authors_need(autograder):
    """no solutions/, tests/mutants/ or bench/: learner code runs on the same machine"""
    kit = autograder / "source" / "kit"
    assert (kit / "exercises" / "info.toml").is_file()
    assert not (kit / "solutions").exists()
    assert not (kit / "tests" / "mutants").exists() and not (kit / "bench").exists()
    digests = json.loads((kit / "reference-digests.json").read_text())
    assert "ch00/availability.py" in digests["modules"]  # digests, never the text
    answers = {p.read_bytes() for p in (KIT / "solutions").rglob("*.py")}
    assert not any(p.read_bytes() in answers for p in kit.rglob("*.py"))


def run_autograder(root: Path, chapters: str = "ch00") -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root)}  # PYTHON: the venv setup.sh makes
    env["CHAPTERS"] = chapters  # the suite grades one small chapter to stay fast
    done = subprocess.run(
        [str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def fresh_upload(root: Path) -> Path:
    submission = root / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    return submission


def test_run_autograder_grades_a_repository_without_the_kit_s_solutions(autograder):
    """a solved checkout gets full marks, its hidden case included, from a kit with no solutions"""
    submission = copy_kit(fresh_upload(autograder), solved="ch00")
    (submission / "exercises" / "conftest.py").write_text(
        "import pytest\n\n@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n    yield\n"
    )
    data = run_autograder(autograder)
    assert set(data) <= TOP_LEVEL and data["output_format"] == "text"
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) > 0
    assert all(t["status"] == "passed" for t in data["tests"])
    hidden = [t for t in data["tests"] if "hidden" in t["tags"]]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)
    assert "exercises/conftest.py" in data["output"]  # flagged, and it changed nothing
    copied = next(line for line in data["output"].splitlines() if "reference solution" in line)
    assert "ch00/availability.py" in copied  # found by the digests, with no solutions/


def load_autograde():
    spec = importlib.util.spec_from_file_location("autograde", SCRIPTS / "autograde.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_upload_is_taken_module_by_module_and_no_link_is_followed(tmp_path):
    """only manifest modules, only regular files: a link to a solution or /etc/passwd is refused"""
    autograde = load_autograde()
    upload = copy_kit(tmp_path / "upload")
    ch00, ch03 = upload / "exercises" / "ch00", upload / "exercises" / "ch03"
    (ch00 / "availability.py").unlink()
    (ch00 / "availability.py").symlink_to(KIT / "solutions" / "ch00" / "availability.py")
    (ch00 / "order_desk.py").write_text("# mine\n")
    (ch00 / "helper.py").write_text("SECRET = 1\n")  # not in the manifest
    shutil.rmtree(ch03)
    ch03.symlink_to(KIT / "solutions" / "ch03", target_is_directory=True)
    (upload / "exercises" / "ch01" / "store.py").unlink(missing_ok=True)
    modules = ["ch00/availability.py", "ch00/order_desk.py", "ch03/at_most_once.py"]
    modules.append("ch01/passwd.py")
    (upload / "exercises" / "ch01" / "passwd.py").symlink_to("/etc/passwd")
    (upload / "stamp.toml").write_text("version = '0.1.0+abc'\n")  # the edition's stamp
    laid = tmp_path / "laid"
    base, layout, notes = autograde.lay(upload, modules, laid, stamp="stamp.toml")
    assert (base, layout) == (upload, "repository")
    taken = sorted(p.relative_to(laid).as_posix() for p in laid.rglob("*") if p.is_file())
    assert taken == ["exercises/ch00/order_desk.py", "stamp.toml"]
    assert not any(p.is_symlink() for p in laid.rglob("*"))
    refused = sorted(note.split(":")[0] for note in notes)
    assert refused == [f"exercises/{m}" for m in sorted(set(modules) - {"ch00/order_desk.py"})]
    assert all("symbolic link" in note for note in notes)


def test_run_autograder_refuses_a_module_that_links_to_a_solution(autograder):
    """the link scores 0 with the reason; the regular module next to it is graded"""
    submission = copy_kit(fresh_upload(autograder), solved="ch00")
    linked = submission / "exercises" / "ch00" / "availability.py"
    linked.unlink()
    linked.symlink_to(KIT / "solutions" / "ch00" / "availability.py")
    data = run_autograder(autograder)
    task = {1: [], 2: []}
    for test in data["tests"]:
        task[1 if "ch00.1" in test["tags"] else 2].append(test)
    assert task[1] and all(t["score"] == 0 for t in task[1])
    assert task[2] and all(t["status"] == "passed" for t in task[2] if "hidden" not in t["tags"])
    assert "exercises/ch00/availability.py: is (or lies behind) a symbolic link" in data["output"]


def test_run_autograder_lays_loose_chapter_folders_into_the_kit(autograder):
    """a submission of chNN/ folders only is graded with the kit's tests"""
    submission = fresh_upload(autograder)
    (submission / "ch00").mkdir(parents=True)
    (submission / "ch00" / "order_desk.py").write_bytes(pristine_copy.stubs()["ch00/order_desk.py"])
    shutil.copy(KIT / "solutions" / "ch00" / "availability.py", submission / "ch00")
    data = run_autograder(autograder)
    task_one = [t for t in data["tests"] if "ch00.1" in t["tags"]]
    assert task_one and all(t["status"] == "passed" for t in task_one)
    assert 0 < data["score"] < sum(t["max_score"] for t in data["tests"])


def test_run_autograder_explains_a_submission_it_cannot_grade(autograder):
    """an upload with no exercises at all scores 0 with the reason, not a failed autograder"""
    submission = fresh_upload(autograder)
    submission.mkdir()
    (submission / "answers.txt").write_text("at least once\n")
    data = run_autograder(autograder)
    assert data["score"] == 0 and data["output_format"] == "text"
    assert "chNN" in data["output"]
