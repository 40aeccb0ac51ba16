"""``grader batch``: every submission graded once, in parallel, resumable after an interruption.

The submissions are real: copies of the kit with the stubs, the reference
solutions or a known-wrong module. Grading is limited to ch03 to stay fast.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import pristine_copy
import pytest

from grader import batch
from grader.cli import main
from grader.records import load_records
from grader.result import ChapterResult, SubmissionResult, TestResult

KIT = Path(__file__).resolve().parents[2]
CHAPTER = "ch03"
WRONG = KIT / "tests" / "mutants" / CHAPTER / "ack_before_effect" / CHAPTER / "at_least_once.py"


def make_submission(folder: Path, *, solved: bool = False, wrong: bool = False) -> Path:
    """A learner's checkout of the kit: the stubs, or ch03 solved, or one wrong module."""
    pristine_copy.copy_kit(folder)
    if solved or wrong:
        for module in (KIT / "solutions" / CHAPTER).glob("*.py"):
            shutil.copy(module, folder / "exercises" / CHAPTER / module.name)
    if wrong:
        shutil.copy(WRONG, folder / "exercises" / CHAPTER / "at_least_once.py")
    return folder


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory) -> Path:
    """Three students: alice (stubs), bob (ch03 solved), carol (one wrong module)."""
    root = tmp_path_factory.mktemp("class") / "submissions"
    root.mkdir()
    make_submission(root / "alice")
    make_submission(root / "bob", solved=True)
    make_submission(root / "carol", wrong=True)
    return root


@pytest.fixture(scope="module")
def graded(class_dir, tmp_path_factory) -> tuple[Path, str]:
    """``grader batch DIR --jobs 2 --chapters ch03``, run once for the module: (OUT, stdout)."""
    out = tmp_path_factory.mktemp("graded") / "grades"
    # DIR as a teacher types it, relative to where they stand.
    args = ["batch", class_dir.name, "--jobs", "2", "--chapters", CHAPTER, "--out", str(out)]
    printed, here = io.StringIO(), Path.cwd()
    os.chdir(class_dir.parent)
    try:
        with contextlib.redirect_stdout(printed):
            assert main([*args, "--quiet"]) == 0
    finally:
        os.chdir(here)
    return out, printed.getvalue()


def rows_of(out: Path) -> list[dict[str, str]]:
    with (out / "grades.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_command_grades_in_parallel_into_one_csv_row_per_student(graded):
    """grader batch DIR --jobs 2: a row per student, a column per chapter, the total"""
    out, printed = graded
    assert "graded 3, up to date 0" in printed
    rows = rows_of(out)
    assert [row["student"] for row in rows] == ["alice", "bob", "carol"]
    header = ["student", CHAPTER, "total", "max_score", "integrity", "error"]
    assert list(rows[0]) == [*header, f"{CHAPTER}_max_score"]
    alice, bob, carol = rows
    assert alice[CHAPTER] == alice["total"] == "0"
    assert bob[CHAPTER] == bob["total"] == bob["max_score"] != "0"
    assert {row[f"{CHAPTER}_max_score"] for row in rows} == {bob["max_score"]}
    assert 0 < float(carol["total"]) < float(carol["max_score"])
    # Learner modules are never tampering; bob's are the reference itself, which is named.
    tampering = [part for row in rows for part in row["integrity"].split("; ")]
    assert all(f"exercises/{CHAPTER}" not in part for part in tampering if "copied" not in part)
    assert f"copied: exercises/{CHAPTER}/" in bob["integrity"]
    assert "copied" not in alice["integrity"]  # untouched stubs are nobody's copy
    assert not batch.work_root(out).exists()  # every grading's TMPDIR went with it


def test_a_rerun_of_the_command_grades_nothing_and_keeps_every_row(graded, class_dir, capsys):
    """a second run finds every record up to date: no grading, no row lost or doubled"""
    out, _ = graded
    before = {p.name: p.read_bytes() for p in (out / "results").glob("*.json")}
    args = ["batch", str(class_dir), "--chapters", CHAPTER, "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert "graded 0, up to date 3" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in (out / "results").glob("*.json")} == before
    assert [row["student"] for row in rows_of(out)] == ["alice", "bob", "carol"]


def test_the_command_writes_an_nbgrader_gradebook(graded):
    """the batch's gradebook has the students, one assignment per chapter, scores and maxima"""
    nbgrader_api = pytest.importorskip("nbgrader.api")
    out, _ = graded
    rows = {row["student"]: row for row in rows_of(out)}
    with nbgrader_api.Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        assert sorted(s.id for s in gradebook.students) == ["alice", "bob", "carol"]
        assert [a.name for a in gradebook.assignments] == [CHAPTER]
        for student, row in rows.items():
            submission = gradebook.find_submission(CHAPTER, student)
            assert submission.score == float(row["total"])
            assert submission.max_score == float(row["max_score"])


class Replay:
    """A grade function that hands back each student's real result from the graded batch,
    counting its calls; it can stop the batch (Ctrl-C) or crash on one student."""

    def __init__(self, out: Path, *, interrupt_after: int | None = None, crash: str = ""):
        self.results = {name: record.result for name, record in load_records(out).items()}
        self.calls: list[str] = []
        self.interrupt_after, self.crash = interrupt_after, crash

    def __call__(self, path: Path):
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls.append(path.name)
        if path.name == self.crash:
            raise RuntimeError("the grader itself broke")
        return self.results[path.name]


def test_an_interrupted_batch_resumes_with_only_what_is_missing_or_changed(
    graded, class_dir, tmp_path
):
    """after Ctrl-C a rerun grades only the missing and the changed; nothing is lost or doubled"""
    source, _ = graded
    out = tmp_path / "out"
    first = Replay(source, interrupt_after=1)
    summary = batch.run_batch(class_dir, out, first, settings="s", jobs=1)
    assert summary.interrupted and first.calls == ["alice"]
    kept = (out / "results" / "alice.json").read_bytes()
    assert sorted(load_records(out)) == ["alice"]

    second = Replay(source)
    summary = batch.run_batch(class_dir, out, second, settings="s", jobs=2)
    assert not summary.interrupted and summary.up_to_date == ["alice"]
    assert sorted(second.calls) == ["bob", "carol"]
    assert (out / "results" / "alice.json").read_bytes() == kept
    assert sorted(load_records(out)) == ["alice", "bob", "carol"]
    assert len(list((out / "results").glob("*.json"))) == 3

    carol = class_dir / "carol" / "exercises" / CHAPTER / "at_least_once.py"
    original = carol.read_bytes()
    try:
        carol.write_bytes(original + b"\n# fixed, she says\n")
        third = Replay(source)
        batch.run_batch(class_dir, out, third, settings="s", jobs=2)
        assert third.calls == ["carol"]
    finally:
        carol.write_bytes(original)

    batch.write_csv(out / "grades.csv", load_records(out).values())
    assert [row["student"] for row in rows_of(out)] == ["alice", "bob", "carol"]


def test_the_class_csv_has_each_chapter_s_maximum_after_the_columns_it_had(tmp_path):
    """a spreadsheet can divide a chapter by its maximum; the older columns keep their place,
    and a chapter a student was not graded on (or a folder that could not be) is left blank"""
    from grader.records import Record

    def result_of(*chapters: tuple[str, float, float]) -> SubmissionResult:
        score, worth = sum(c[1] for c in chapters), sum(c[2] for c in chapters)
        found = [ChapterResult(c[0], c[0], *c[1:]) for c in chapters]
        return SubmissionResult(score, worth, found, [])

    records = [
        Record("bob", "f", result_of(("ch03", 12, 34), ("ch04", 2.5, 14))),
        Record("alice", "f", result_of(("ch03", 0, 34))),
        Record("dave", "f", None, error="not a checkout of this kit"),
    ]
    batch.write_csv(tmp_path / "grades.csv", records)
    rows = rows_of(tmp_path)
    assert list(rows[0]) == [
        "student",
        "ch03",
        "ch04",
        "total",
        "max_score",
        "integrity",
        "error",
        "ch03_max_score",
        "ch04_max_score",
    ]
    maxima = [(r["student"], r["ch03_max_score"], r["ch04_max_score"]) for r in rows]
    assert maxima == [("alice", "34", ""), ("bob", "34", "14"), ("dave", "", "")]
    assert (rows[1]["ch04"], rows[1]["total"], rows[1]["max_score"]) == ("2.5", "14.5", "48")


def test_a_grading_that_crashes_is_not_recorded_and_is_graded_next_run(graded, class_dir, tmp_path):
    """a job that raises leaves no record: the next run grades that submission again"""
    source, _ = graded
    out = tmp_path / "out"
    summary = batch.run_batch(class_dir, out, Replay(source, crash="bob"), settings="s", jobs=2)
    assert list(summary.failed) == ["bob"]
    assert sorted(load_records(out)) == ["alice", "carol"]

    again = Replay(source)
    batch.run_batch(class_dir, out, again, settings="s", jobs=2)
    assert again.calls == ["bob"]
    assert sorted(load_records(out)) == ["alice", "bob", "carol"]


def test_records_made_with_other_settings_are_graded_again(graded, class_dir, tmp_path):
    """a record holds only for the settings (kit, chapters, hidden traces) that made it"""
    source, _ = graded
    out = tmp_path / "out"
    batch.run_batch(class_dir, out, Replay(source), settings="ch03 only", jobs=2)
    other = Replay(source)
    batch.run_batch(class_dir, out, other, settings="ch03 and hidden traces", jobs=2)
    assert sorted(other.calls) == ["alice", "bob", "carol"]


def test_a_folder_that_is_not_a_kit_checkout_gets_a_row_with_the_reason(tmp_path, capsys):
    """a submission that cannot be graded is recorded with why, never a crash of the batch"""
    root = tmp_path / "submissions"
    (root / "zoe" / "notes").mkdir(parents=True)
    out = tmp_path / "grades"
    args = ["batch", str(root), "--chapters", CHAPTER, "--out", str(out), "--no-gradebook"]
    assert main([*args, "--quiet"]) == 0
    assert "not gradable (1, see the error column): zoe" in capsys.readouterr().out
    row = rows_of(out)[0]
    assert row["student"] == "zoe" and "not a checkout" in row["error"]
    assert json.loads((out / "results" / "zoe.json").read_text())["result"] is None


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--jobs", "0"], "--jobs 0"),
        (["--chapters", "ch99"], "unknown chapter 'ch99'"),
        (["--hidden", "/nonexistent/hidden"], "--hidden"),
    ],
)
def test_bad_input_gets_one_clear_line(tmp_path, capsys, extra, says):
    """bad options end with one line on stderr and exit 2, never a traceback"""
    (tmp_path / "submissions").mkdir()
    assert main(["batch", str(tmp_path / "submissions"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


def test_a_missing_folder_is_bad_input(tmp_path, capsys):
    """grader batch on a folder that does not exist names it"""
    assert main(["batch", str(tmp_path / "nope")]) == 2
    assert "nope: not a folder" in capsys.readouterr().err


# -- a hung or failing grader, forged records, shards ---------------------------------------------

HANG = """
import os, signal, subprocess, sys, time
tmp = os.environ["TMPDIR"]
os.makedirs(os.path.join(tmp, "twm-grade-x", "kit"))
open(os.path.join(tmp, "twm-grade-x", "kit", "leftover.txt"), "w").write("sandbox")
grandchild = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
open(sys.argv[1], "w").write(str(grandchild.pid))
signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(600)
"""


def fake_grader(monkeypatch, script: str, *extra: str) -> None:
    """``grader run`` replaced by ``script`` (argv[1:]: ``extra``), as the batch starts it."""

    def command(path, out, **_):
        return [sys.executable, "-c", script, *extra, str(out)]

    monkeypatch.setattr(batch, "grader_command", command)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False


def fake_class(root: Path, *students: str) -> Path:
    for student in students:
        (root / student).mkdir(parents=True)
        (root / student / "notes.txt").write_text(student)
    return root


def test_a_hung_grading_is_killed_with_its_whole_group_and_recorded_as_timed_out(
    tmp_path, monkeypatch, capsys
):
    """past --timeout (plus a margin) the child's group dies, grandchild that ignores SIGTERM
    included; the student is recorded as timed out, no temp folder is left, a rerun retries"""
    monkeypatch.setattr(batch, "START_MARGIN", 0.5)
    pids = tmp_path / "grandchild.pid"
    fake_grader(monkeypatch, HANG, str(pids))
    root = fake_class(tmp_path / "submissions", "dan")
    out = tmp_path / "grades"
    leftover = batch.work_root(out) / "grading-from-a-killed-run"
    (leftover / "kit").mkdir(parents=True)
    (leftover / "kit").chmod(0o555)
    args = ["batch", str(root), "--timeout", "1", "--out", str(out), "--no-gradebook", "--quiet"]
    assert main(args) == 1
    printed = capsys.readouterr().out
    assert "timed out 1" in printed and "dan: timed out" in printed
    assert "removed 1 temp folders" in printed
    grandchild = int(pids.read_text())
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)
    assert not batch.work_root(out).exists() or not any(batch.work_root(out).iterdir())
    record = load_records(out)["dan"]
    assert record.retry and record.result is None and "timed out" in record.error
    assert "timed out" in rows_of(out)[0]["error"]

    calls = []
    batch.run_batch(root, out, lambda path: calls.append(path.name), settings="x")
    assert calls == ["dan"]


def test_each_grading_leaves_no_temp_folder_once_its_child_is_gone(tmp_path, monkeypatch):
    """the TMPDIR a child got (and the sandbox it made there) goes the moment it is killed"""
    monkeypatch.setattr(batch, "START_MARGIN", 0.5)
    fake_grader(monkeypatch, HANG, str(tmp_path / "grandchild.pid"))
    work = tmp_path / "work"
    with pytest.raises(batch.TimedOut, match="timed out"):
        batch.grade_in_subprocess(tmp_path, timeout=0.5, work=work)
    assert list(work.iterdir()) == []
    fake_grader(monkeypatch, "import sys; sys.exit(130)")
    with pytest.raises(RuntimeError, match="exited 130"):
        batch.grade_in_subprocess(tmp_path, timeout=5, work=work)
    assert list(work.iterdir()) == []


def test_a_child_exiting_130_is_a_failed_grading_not_an_interrupt(tmp_path, monkeypatch, capsys):
    """without Ctrl-C in the batch, a child's exit 130 is a failure: reported, graded next run"""
    fake_grader(monkeypatch, "import sys; sys.exit(130)")
    root = fake_class(tmp_path / "submissions", "eve", "fay")
    out = tmp_path / "grades"
    args = ["batch", str(root), "--out", str(out), "--no-gradebook", "--quiet", "--jobs", "2"]
    assert main(args) == 1
    printed = capsys.readouterr().out
    assert "crashed 2" in printed and "interrupted" not in printed
    assert "eve: RuntimeError: grader run exited 130" in printed
    assert load_records(out) == {}
    assert not batch.work_root(out).exists() or not any(batch.work_root(out).iterdir())


def test_an_interrupt_of_the_batch_kills_the_gradings_under_way(tmp_path, monkeypatch):
    """Ctrl-C in the batch: the children (in sessions of their own) are killed, nothing recorded"""
    monkeypatch.setattr(batch, "START_MARGIN", 60)
    pids = tmp_path / "grandchild.pid"
    fake_grader(monkeypatch, HANG, str(pids))
    root = fake_class(tmp_path / "submissions", "gus")
    out = tmp_path / "grades"
    timer = threading.Timer(1.5, lambda: signal.pthread_kill(threading.main_thread().ident, 2))
    timer.start()
    try:
        summary = batch.run_batch(
            root,
            out,
            lambda p: batch.grade_in_subprocess(p, work=batch.work_root(out)),
            settings="x",
        )
    finally:
        timer.cancel()
    assert summary.interrupted and not summary.failed and load_records(out) == {}
    deadline = time.monotonic() + 5
    while alive(int(pids.read_text())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(int(pids.read_text()))


def tiny_result(score: float) -> SubmissionResult:
    return SubmissionResult(
        score,
        4,
        [ChapterResult("ch00", "CH00", score, 4)],
        [TestResult("exercises/ch00/test_a.py::test_a", "ch00", 1, "passed", score, 4)],
        kit_version="0.1.0+test",
    )


class Scores:
    """A grade function: each student's score from a table, counting calls."""

    def __init__(self, scores: dict[str, float]):
        self.scores, self.calls = scores, []

    def __call__(self, path: Path) -> SubmissionResult:
        self.calls.append(path.name)
        return tiny_result(self.scores[path.name])


def test_a_forged_or_rewritten_record_is_distrusted_and_graded_again(tmp_path):
    """a record not signed by this batch (rewritten, added, renamed, cut, unsigned) is regraded"""
    root = fake_class(tmp_path / "submissions", "ann", "ben", "cat", "dov", "eli", "fin")
    scores = {name: 1 for name in ("ann", "ben", "cat", "dov", "eli", "fin")}
    out = tmp_path / "grades"
    batch.run_batch(root, out, Scores(scores), settings="x")
    key = out / "batch.key"
    assert key.stat().st_mode & 0o777 == 0o600
    results = out / "results"

    ben = json.loads((results / "ben.json").read_text())
    ben["result"]["score"] = ben["result"]["chapters"][0]["score"] = 4  # rewritten
    (results / "ben.json").write_text(json.dumps(ben))
    shutil.copy(results / "ann.json", results / "cat.json")  # another student's, renamed
    (results / "dov.json").write_text((results / "dov.json").read_text()[:50])  # cut short
    eli = json.loads((results / "eli.json").read_text())
    del eli["signature"]  # unsigned
    (results / "eli.json").write_text(json.dumps(eli))
    (results / "zed.json").write_text(json.dumps({**ben, "student": "zed"}))  # forged, extra

    again = Scores(scores)
    summary = batch.run_batch(root, out, again, settings="x")
    assert summary.distrusted == 5
    assert sorted(again.calls) == ["ben", "cat", "dov", "eli"]
    assert summary.up_to_date == ["ann", "fin"]
    assert {n: r.result.score for n, r in load_records(out).items()} == scores


def test_a_record_with_a_field_missing_is_distrusted_even_if_signed(tmp_path):
    """a validly signed record that lacks a field (an older format) is graded again"""
    from grader import records

    root = fake_class(tmp_path / "submissions", "ann")
    out = tmp_path / "grades"
    batch.run_batch(root, out, Scores({"ann": 1}), settings="x")
    path = out / "results" / "ann.json"
    data = json.loads(path.read_text())
    del data["signature"], data["retry"]
    data["signature"] = records._signature(records.batch_key(out), data)
    path.write_text(json.dumps(data))
    again = Scores({"ann": 1})
    assert batch.run_batch(root, out, again, settings="x").distrusted == 1
    assert again.calls == ["ann"]


def test_a_shard_grades_its_slice_for_real_into_a_folder_of_its_own(class_dir, capsys):
    """grader batch DIR --shard 2/3: only the second student by id, in DIR.grades-2-of-3"""
    args = ["batch", str(class_dir), "--shard", "2/3", "--chapters", "ch00", "--no-gradebook"]
    assert main([*args, "--quiet"]) == 0
    assert "shard 2/3" in capsys.readouterr().out
    out = class_dir.parent / "submissions.grades-2-of-3"
    assert sorted(load_records(out)) == ["bob"]
    assert (out / "shard.txt").read_text().strip() == "2/3"
    assert [row["student"] for row in rows_of(out)] == ["bob"]
    assert not batch.work_root(out).exists()


@pytest.mark.parametrize("spec", ["0/3", "4/3", "a/b", "3", "1/0", "-1/2", "1/2/3"])
def test_a_bad_shard_spec_is_one_line_and_exit_2(tmp_path, capsys, spec):
    """--shard takes K/N with 1 <= K <= N; anything else is one clear line"""
    (tmp_path / "submissions").mkdir()
    assert main(["batch", str(tmp_path / "submissions"), f"--shard={spec}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--shard {spec}: expected K/N" in err[0]
