"""exercises/stubs.toml is the kit's: its blob ids are the committed stubs', its figures the tests'.

The stubs are read from git's HEAD when the kit is a git checkout (so a learner's work
in the working tree changes nothing here), else from the working tree. To write the
record again after changing a stub or a chapter's tests:

    TWM_UPDATE_DOCS=1 pytest tests/grader/test_stub_record.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict

import pytest

from grader import pristine, stubs
from grader.errors import GradingError

KIT = pristine.default_root()


def committed_blobs() -> dict[str, str] | None:
    """Every file under exercises/ at HEAD with its blob id; None outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "ls-tree", "-r", "HEAD", "--", "exercises"],
            cwd=KIT,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    found = {}
    for line in done.stdout.splitlines():
        meta, path = line.split("\t", 1)
        found[path.removeprefix("exercises/")] = meta.split()[2]
    return found


@pytest.fixture(scope="module")
def expected() -> stubs.StubRecord:
    kit = pristine.load()
    blobs = committed_blobs()
    modules = {}
    for module in kit.modules():
        if blobs is not None and module in blobs:
            modules[module] = blobs[module]
        else:
            modules[module] = stubs.blob_id((kit.exercises / module).read_bytes())
    out = KIT / ".twm" / "stub-record-plan.json"
    out.parent.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "grader.collector", "--grader-plan", str(out), "exercises"]
    done = subprocess.run(command, cwd=KIT, capture_output=True, text=True, timeout=300)
    assert out.is_file(), done.stdout[-2000:] + done.stderr[-2000:]
    tests: dict[tuple[str, int], int] = defaultdict(int)
    points: dict[tuple[str, int], float] = defaultdict(float)
    for entry in json.loads(out.read_text(encoding="utf-8")):
        key = (entry["chapter"], entry["task"])
        tests[key] += 1
        points[key] += entry["max_points"]
    out.unlink()
    figures = {key: stubs.TaskFigures(tests[key], points[key]) for key in tests}
    return stubs.StubRecord(modules, figures)


def test_the_stub_record_is_the_kit_s(expected):
    path = KIT / stubs.RECORD
    written = path.read_text(encoding="utf-8") if path.is_file() else ""
    if written != expected.render() and os.environ.get("TWM_UPDATE_DOCS") == "1":
        path.write_text(expected.render(), encoding="utf-8")
        written = expected.render()
    assert written == expected.render(), (
        f"{stubs.RECORD} has drifted from the stubs and tests: run `{stubs.UPDATE}`"
    )
    assert stubs.StubRecord.load(KIT) == expected


def test_every_task_of_the_manifest_has_its_figures(expected):
    kit = pristine.load()
    for chapter in kit.manifest.chapters:
        if chapter.id in kit.chapters:
            for task in chapter.tasks:
                figures = expected.tasks.get((chapter.id, task.number))
                assert figures and figures.tests > 0, f"{task.id} has no chapter test"


def test_a_changed_module_is_not_the_stub_and_its_stub_comes_back_from_git(tmp_path):
    """untouched() tells a stub from a change of one byte; stub() recovers it from git."""
    record = stubs.StubRecord.load(KIT)
    module = "ch03/at_least_once.py"
    stub = record.stub(KIT, module)
    checkout = tmp_path / "checkout"
    (checkout / "exercises" / "ch03").mkdir(parents=True)
    (checkout / stubs.RECORD).write_bytes((KIT / stubs.RECORD).read_bytes())
    target = checkout / "exercises" / module
    target.write_bytes(stub)
    assert record.untouched(checkout, module)
    subprocess.run(["git", "init", "-q"], cwd=checkout, check=True)
    subprocess.run(["git", "add", "."], cwd=checkout, check=True)
    target.write_bytes(stub.replace(b"\n", b"\r\n"))
    assert record.untouched(checkout, module), "CRLF line endings are the same stub"
    target.write_bytes(stub + b"\n")
    assert not record.untouched(checkout, module)
    assert record.stub(checkout, module) == stub
    shutil.rmtree(checkout / ".git")
    with pytest.raises(GradingError, match="not in this checkout's git history"):
        record.stub(checkout, module)
