"""The two editions: ``grader release`` writes the learner edition, grading accepts a submission
made from it (clean integrity) and refuses one from another kit version, and ``grader
solution`` shows a task's reference solution only once the task passes."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pristine_copy
import pytest

from grader import cli, edition, integrity, pristine, release, stubs
from grader.errors import GradingError
from grader.grade import grade_submission

KIT = pristine.default_root()
TEACHER_ONLY = (
    "solutions/",
    "tests/",
    "bench/",
    "grading/",
    ".ci/",
    "docs/grading.md",
    "docs/performance.md",
)
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git checkout of the kit as it is now (its tracked files, its stubs untouched,
    committed): released and graded with, so that edits elsewhere in the working tree, a
    learner's modules included, change nothing here."""
    return pristine_copy.checkout(tmp_path_factory.mktemp("teacher") / "kit")


@pytest.fixture(scope="module")
def released(kit: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The learner edition of ``kit``: its folder and its zip."""
    out = tmp_path_factory.mktemp("learners")
    release.release(out / "edition", kit=kit, zip_file=out / "edition.zip")
    return out / "edition", out / "edition.zip"


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".git" not in p.parts
    }


def digest(content: bytes) -> str:
    return hashlib.sha256(content.replace(b"\r\n", b"\n").strip()).hexdigest()


def test_the_edition_holds_no_answers_and_what_a_learner_needs(kit: Path, released):
    folder, zipped = released
    shipped = files(folder)
    assert not [n for n in shipped if n.startswith(TEACHER_ONLY) or "mutants" in n]
    assert not [n for n in shipped if "author" in n.lower() or "hidden" in n.split("/")]
    answers = {
        digest(content): name
        for name, content in files(kit).items()
        if name.startswith(("solutions/", "tests/mutants/")) and name.endswith(".py")
    }
    assert {n: answers[digest(c)] for n, c in shipped.items() if digest(c) in answers} == {}
    needed = [
        edition.STAMP,
        "README.md",
        "pyproject.toml",
        ".gitignore",
        ".github/workflows/classroom.yml",
        "exercises/info.toml",
        "harness/pytest_plugin.py",
        "grader/progress.py",
        "grader/hints.py",
        "grader/solution.py",
    ]
    chapters = pristine.load(kit).chapters
    needed += [f"exercises/{c}/README.md" for c in chapters]
    assert [n for n in needed if n not in shipped] == []
    listed = edition.learner_files(pristine.load(kit))  # what integrity and Gradescope reuse
    assert listed == sorted(n for n in shipped if n != edition.STAMP)
    with zipfile.ZipFile(zipped) as archive:
        names = sorted(n.removeprefix("edition/") for n in archive.namelist())
        assert names == sorted(shipped)
        assert archive.read("edition/exercises/info.toml") == shipped["exercises/info.toml"]


def test_every_link_in_the_edition_s_pages_reaches_a_file_it_holds(released):
    """a learner who follows a relative link in a README or docs page of the edition finds
    its file there (the chapters' real-world facts, the broker's page)"""
    folder, _ = released
    dead = []
    for page in sorted(folder.rglob("*.md")):
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith(("#", "mailto:")):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                dead.append(f"{page.relative_to(folder)} -> {target}")
    assert dead == []
    assert (folder / "docs" / "real-world.md").is_file()


def test_stubs_tests_and_traces_are_the_kits_own(kit: Path, released):
    folder, _ = released
    the_kit = pristine.load(kit)
    stubs = [f"exercises/{module}" for module in the_kit.modules(the_kit.manifest_chapters())]
    for chapter in the_kit.chapters:
        stubs += [
            p.relative_to(kit).as_posix()
            for p in sorted((kit / "exercises" / chapter).rglob("*"))
            if p.is_file() and (p.name.startswith("test_") or p.parent.name == "traces")
        ]
    assert len(stubs) > 50
    assert [n for n in stubs if (folder / n).read_bytes() != (kit / n).read_bytes()] == []
    assert edition.read_stamp(folder).version == the_kit.version


def test_the_readme_and_pyproject_are_the_learners(released):
    folder, _ = released
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "## For learners" in readme and "## Set up" in readme
    assert "## For teachers" not in readme and "## For course authors" not in readme
    assert "--target solutions" not in readme and "tests/mutants" not in readme
    pyproject = (folder / "pyproject.toml").read_text(encoding="utf-8")
    assert 'testpaths = ["exercises"]' in pyproject and '"tests"' not in pyproject


def test_pytest_in_the_edition_fails_teaching_on_stubs(released):
    folder, _ = released
    env = {**os.environ, "PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}
    where = subprocess.run(
        [sys.executable, "-c", "import harness, grader; print(harness.__file__, grader.__file__)"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [Path(p).is_relative_to(folder) for p in where] == [True, True]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "exercises/ch00", "-q", "-p", "no:cacheprovider"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "7 failed" in done.stdout and "passed" not in done.stdout.splitlines()[-1]
    assert "NOT DONE YET" in done.stdout and "TODO(ch00.1)" in done.stdout


def test_uncommitted_edits_never_ship(kit: Path, tmp_path: Path):
    drafts = [kit / "exercises/ch00/availability.py", kit / "exercises/ch00/test_availability.py"]
    before = [path.read_bytes() for path in drafts]
    for path, content in zip(drafts, before, strict=True):
        path.write_bytes(content + b"\n# a teacher's draft, not committed\n")
    try:
        stamp, names, left_out = release.release(tmp_path / "edition", kit=kit)
    finally:
        for path, content in zip(drafts, before, strict=True):
            path.write_bytes(content)
    shipped = [(tmp_path / "edition" / p.relative_to(kit)).read_bytes() for p in drafts]
    assert shipped == before
    assert left_out == [p.relative_to(kit).as_posix() for p in drafts]
    assert stamp.source.startswith("commit ") and edition.STAMP in names
    committed = pristine.load(kit)  # the files are back as committed: digest them afresh
    assert stamp.version == pristine.Kit(kit, committed.manifest, committed.chapters).version


def test_a_solved_stub_committed_by_mistake_never_ships(kit: Path, tmp_path: Path, capsys):
    """a learner module that is not its recorded stub stops the release, saying what to do"""
    module = kit / "exercises/ch00/availability.py"
    stub = module.read_bytes()
    git = ["git", "-c", "user.name=teacher", "-c", "user.email=teacher@example.org"]
    shutil.copyfile(KIT / "solutions/ch00/availability.py", module)
    subprocess.run([*git, "commit", "-qam", "solved, by mistake"], cwd=kit, check=True)
    try:
        assert cli.main(["release", str(tmp_path / "edition"), "--kit", str(kit)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "exercises/ch00/availability.py" in err[0]
        assert "grader reset" in err[0] and stubs.UPDATE in err[0]
        assert not (tmp_path / "edition" / "exercises").exists()
    finally:
        module.write_bytes(stub)
        subprocess.run([*git, "commit", "-qam", "the stub again"], cwd=kit, check=True)


def test_bad_input_is_one_line(kit: Path, tmp_path: Path, capsys):
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine\n")
    cases = {
        str(full): "not empty",
        str(kit / "edition"): "inside the kit",
        str(tmp_path / "a"): "no such commit",
    }
    for target, why in cases.items():
        extra = ["--ref", "no-such-tag"] if why == "no such commit" else []
        assert cli.main(["release", target, "--kit", str(kit), *extra]) == 2
        err = capsys.readouterr().err
        assert why in err and err.count("\n") == 1, err
    assert not (kit / "edition").exists() and (full / "notes.txt").is_file()


def submission_from(folder: Path, tmp_path: Path) -> Path:
    sub = tmp_path / "alice"
    shutil.copytree(folder, sub)
    return sub


def test_a_submission_made_from_the_edition_grades_clean(kit: Path, released, tmp_path: Path):
    folder, _ = released
    sub = submission_from(folder, tmp_path)
    # The learner's own answer (the reference itself would be listed as copied).
    (sub / "exercises/ch00/availability.py").write_text(
        "def chain_availability(availabilities):\n"
        "    share = 1.0\n"
        "    for up in availabilities:\n"
        "        share = share * up\n"
        "    return share\n"
    )
    (sub / ".git").mkdir()  # a clone of the template repository
    result = grade_submission(sub, chapters=["ch00"], kit=kit)
    assert result.integrity.clean, result.integrity
    by_task = {t.task: 0.0 for t in result.tests}
    for test in result.tests:
        by_task[test.task] += test.points
    assert by_task[1] > 0 and by_task[2] == 0
    assert result.kit_version == edition.read_stamp(sub).version


def test_tampering_in_an_edition_submission_is_still_listed(kit: Path, released, tmp_path):
    folder, _ = released
    sub = submission_from(folder, tmp_path)
    (sub / "exercises/conftest.py").write_text("# passes everything\n")
    (sub / "exercises/ch00/test_availability.py").write_text("def test_x():\n    pass\n")
    (sub / "README.md").write_text("# mine\n")
    shutil.rmtree(sub / "exercises/ch00/traces")
    found = integrity.check(sub, pristine.load(kit))
    assert found.unexpected == ["exercises/conftest.py"]
    assert found.modified == ["README.md", "exercises/ch00/test_availability.py"]
    assert found.missing == ["exercises/ch00/traces/"]


def test_an_edition_of_another_kit_version_is_refused(kit: Path, released, tmp_path, capsys):
    folder, _ = released
    sub = submission_from(folder, tmp_path)
    edition.write_stamp(sub, edition.Stamp("0.0.9+000000000000", "commit 0"))
    with pytest.raises(GradingError) as refused:
        grade_submission(sub, chapters=["ch00"], kit=kit)
    message = str(refused.value)
    assert "\n" not in message and "0.0.9+000000000000" in message
    assert pristine.load(kit).version in message and "grader release" in message
    assert cli.main(["run", str(sub), "--chapters", "ch00"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "0.0.9+000000000000" in err


@pytest.fixture
def self_study(kit: Path, tmp_path: Path) -> Path:
    """A learner's clone of the whole kit (solutions included), stubs untouched."""
    root = tmp_path / "clone"
    shutil.copytree(kit, root, ignore=shutil.ignore_patterns(".git", "tests", "bench"))
    return root


def solution(root: Path, task: str, capsys) -> tuple[int, str]:
    code = cli.main(["solution", task, "--path", str(root)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_solution_is_shown_only_once_its_task_passes(self_study: Path, capsys):
    reference = (self_study / "solutions/ch00/availability.py").read_text(encoding="utf-8")
    code, out = solution(self_study, "ch00.1", capsys)
    assert code == 1 and "not done yet" in out and "still failing" in out
    assert "def availability" not in out and reference.strip() not in out
    shutil.copyfile(
        self_study / "solutions/ch00/availability.py",
        self_study / "exercises/ch00/availability.py",
    )
    code, out = solution(self_study, "ch00.1", capsys)
    assert code == 0 and reference.strip() in out
    desk = (self_study / "solutions/ch00/order_desk.py").read_text(encoding="utf-8")
    code, out = solution(self_study, "ch00.2", capsys)
    assert code == 1 and desk.strip() not in out and "ch00.2" in out


def test_the_learner_edition_has_no_solution_to_show(released, capsys):
    folder, _ = released
    code, out = solution(folder, "ch00.1", capsys)
    assert code == 1 and "learner edition" in out
    code, out = solution(folder, "ch09.1", capsys)
    assert code == 2 and "ch00.1, ch00.2" in out and out.count("\n") == 1
