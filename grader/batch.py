"""``grader batch DIR``: grade every submission under DIR, in parallel, resumably.

Each folder directly under DIR is one student's submission (its name is the
student id), graded like ``grader run`` (its own subprocess, the kit's
pristine tests). Results go to an output folder (``--out``, default
``DIR.grades`` next to DIR):

- ``results/STUDENT.json``: the record of one grading, written atomically the
  moment it finishes, with the fingerprint of what was graded (every file of
  the submission, the kit's tests and harness, the chapters and hidden traces);
- ``grades.csv``: one row per student, one column per chapter, the total;
- ``gradebook.db``: an nbgrader gradebook (``--gradebook URL`` for another
  database), see :mod:`grader.gradebook`.

Resumable: a rerun grades only the submissions that have no record yet or
whose fingerprint changed; an interrupted run (Ctrl-C, a crash) keeps every
record it finished, and records are keyed by student, so none is lost and
none is counted twice. The CSV and the gradebook are rebuilt from the records.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GradingError
from grader.records import (
    Record,
    fingerprint,
    load_records,
    save_record,
    settings_key,
    submissions,
    write_csv,
)
from grader.result import SubmissionResult

KIT = Path(__file__).resolve().parent.parent
"""The kit whose pristine tests grade every submission (this checkout)."""
INTERRUPTED = (130, -2)
"""Exit codes of a ``grader run`` that Ctrl-C stopped."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from grader.grade import DEFAULT_TIMEOUT

    parser.add_argument("dir", type=Path, help="a folder with one submission folder per student")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="submissions graded at once (default: the number of cores)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="the output folder (default: DIR.grades next to DIR)"
    )
    parser.add_argument("--chapters", default=None, metavar="LIST", help="e.g. ch03,ch04")
    parser.add_argument("--hidden", type=Path, default=None, metavar="DIR", help="hidden traces")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"wall-clock seconds per submission (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--gradebook",
        default=None,
        metavar="URL",
        help="the nbgrader gradebook: a SQLAlchemy URL or a file (default: OUT/gradebook.db)",
    )
    parser.add_argument("--no-gradebook", action="store_true", help="write no gradebook")
    parser.add_argument(
        "--regrade", action="store_true", help="grade every submission again, recorded or not"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def grade_in_subprocess(
    path: Path,
    *,
    chapters: list[str] | None = None,
    hidden: Path | None = None,
    timeout: float | None = None,
) -> SubmissionResult | None:
    """``grader run PATH --format json`` in a child process; None if Ctrl-C stopped it.

    A child per submission keeps one crash from taking the batch down, and
    Ctrl-C reaches it (and, through it, the test processes it started) at once.
    """
    with tempfile.TemporaryDirectory(prefix="twm-batch-") as tmp:
        out = Path(tmp) / "result.json"
        # The child runs in the kit's folder: every path it gets is absolute.
        command = [
            sys.executable,
            "-m",
            "grader.cli",
            "run",
            str(path.resolve()),
            "--out",
            str(out),
            # The batch's --jobs already fill the cores: one test process per submission.
            "--workers",
            "1",
        ]
        if chapters:
            command += ["--chapters", ",".join(chapters)]
        if hidden is not None:
            command += ["--hidden", str(hidden.resolve())]
        if timeout is not None:
            command += ["--timeout", str(timeout)]
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=KIT
        )
        if done.returncode in INTERRUPTED:
            return None
        if done.returncode == 2:
            line = (done.stderr.strip().splitlines() or ["bad submission"])[-1]
            raise GradingError(line.removeprefix("grader run: "))
        if done.returncode != 0 or not out.is_file():
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"grader run exited {done.returncode}: {tail}")
        return SubmissionResult.from_json(out.read_text(encoding="utf-8"))


@dataclass
class Summary:
    graded: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Students whose grading crashed: not recorded, so the next run grades them again."""
    interrupted: bool = False


# -- the run --------------------------------------------------------------------------------------


def run_batch(
    root: Path,
    out: Path,
    grade: Callable[[Path], SubmissionResult | None],
    *,
    settings: str,
    jobs: int = 1,
    show_progress: bool = False,
    regrade: bool = False,
) -> Summary:
    """Grade what is missing or changed under ``root`` into ``out``; return what happened.

    ``grade`` grades one submission. A KeyboardInterrupt (from Ctrl-C, or
    raised by ``grade``) stops the batch: finished records stay, the rest is
    left for the next run.
    """
    summary = Summary()
    records = load_records(out)
    todo: list[tuple[Path, str]] = []
    for path in submissions(root, out):
        key = fingerprint(path, settings)
        known = records.get(path.name)
        if known is not None and known.fingerprint == key and not regrade:
            summary.up_to_date.append(path.name)
        else:
            todo.append((path, key))
    stop = threading.Event()

    def job(path: Path) -> SubmissionResult | None:
        if stop.is_set():
            return None
        result = grade(path)
        # A result that finished while the batch was stopping may come from a
        # grading run that Ctrl-C killed too: never record it.
        return None if stop.is_set() else result

    bar = _ProgressBar(len(todo), enabled=show_progress)
    executor = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="grade")
    pending: dict[Future, tuple[Path, str]] = {}
    queue = list(todo)
    try:
        with bar:
            while queue or pending:
                while queue and len(pending) < max(1, jobs):
                    path, key = queue.pop(0)
                    pending[executor.submit(job, path)] = (path, key)
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    path, key = pending.pop(future)
                    _settle(out, future, path.name, key, summary)
                    bar.advance(path.name)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        stop.set()
        executor.shutdown(wait=True, cancel_futures=True)
    return summary


def _settle(out: Path, future: Future, student: str, key: str, summary: Summary) -> None:
    try:
        result = future.result()
    except GradingError as error:
        # Bad input that depends on the submission alone (not a kit checkout):
        # recorded, so it is graded again only when the submission changes.
        save_record(out, Record(student, key, None, str(error)))
        summary.graded.append(student)
        return
    except KeyboardInterrupt:
        raise
    except Exception as error:  # a crash of the grader itself: not recorded, retried next run
        summary.failed[student] = f"{type(error).__name__}: {error}"
        return
    if result is not None:
        save_record(out, Record(student, key, result))
        summary.graded.append(student)


class _ProgressBar:
    """A rich progress bar on stderr (imported only when shown)."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.enabled = total, enabled and total > 0
        self._progress = self._task = None

    def __enter__(self) -> _ProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("grading"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=Console(stderr=True),
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("", total=self.total)
        return self

    def advance(self, student: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=student)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)


def sync_gradebook(out: Path, url: str, records: dict[str, Record]) -> int:
    """Write to the gradebook the records it does not have yet; return how many."""
    from grader import gradebook

    marker = out / "gradebook-synced.json"
    try:
        synced = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        synced = {}
    if not isinstance(synced, dict) or synced.get("url") != url or _gone(url):
        synced = {"url": url, "students": {}}
    have = synced.setdefault("students", {})
    fresh = [r for r in records.values() if r.result and have.get(r.student) != r.fingerprint]
    if not fresh:
        return 0  # nothing to write: not even nbgrader's import is paid
    try:
        written = gradebook.write(url, ((r.student, r.result) for r in fresh))
    except GradingError:
        raise
    except Exception as error:  # the database's own errors: the records stay, a rerun retries
        raise GradingError(f"gradebook {url}: could not write it ({error})") from None
    for record in fresh:
        have[record.student] = record.fingerprint
    marker.write_text(json.dumps(synced, indent=1) + "\n", encoding="utf-8")
    return written


def _gone(url: str) -> bool:
    """A SQLite gradebook whose file was deleted: everything is written to it again."""
    return url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()


def run(args: argparse.Namespace) -> int:
    from grader.run import chapters_of

    root: Path = args.dir
    if not root.is_dir():
        raise GradingError(f"{root}: not a folder (expected one submission folder per student)")
    if args.jobs < 1:
        raise GradingError(f"--jobs {args.jobs}: expected 1 or more")
    out: Path = args.out or root.resolve().parent / f"{root.resolve().name}.grades"
    chapters = chapters_of(args.chapters)
    _check_chapters(chapters)
    if args.hidden is not None and not args.hidden.is_dir():
        raise GradingError(f"--hidden {args.hidden}: not a folder (expected DIR/chNN/*.toml)")
    try:
        (out / "results").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GradingError(f"--out {out}: cannot create it ({error.strerror})") from None
    if not os.access(out, os.W_OK):
        raise GradingError(f"--out {out}: cannot write in it")
    url = None if args.no_gradebook else _gradebook_url(args.gradebook, out)

    def grade(path: Path) -> SubmissionResult | None:
        return grade_in_subprocess(
            path, chapters=chapters, hidden=args.hidden, timeout=args.timeout
        )

    from grader import pristine

    version = pristine.load(KIT).version
    settings = settings_key(version, chapters, args.hidden, args.timeout)
    summary = run_batch(
        root,
        out,
        grade,
        settings=settings,
        jobs=args.jobs,
        show_progress=not args.quiet,
        regrade=args.regrade,
    )
    records = {r.student: r for r in load_records(out).values()}
    write_csv(out / "grades.csv", records.values())
    lines = [
        f"graded {len(summary.graded)}, up to date {len(summary.up_to_date)}, "
        f"crashed {len(summary.failed)}",
        f"csv: {out / 'grades.csv'} ({len(records)} students)",
    ]
    unreadable = sorted(r.student for r in records.values() if r.result is None)
    if unreadable:
        lines.append(
            f"not gradable ({len(unreadable)}, see the error column): {', '.join(unreadable)}"
        )
    if url is not None:
        written = sync_gradebook(out, url, records)
        lines.append(f"gradebook: {url} ({written} students written)")
    lines += [f"  {who}: {why} (graded again next run)" for who, why in summary.failed.items()]
    print("\n".join(lines))
    if summary.interrupted:
        print("interrupted: run the same command again to grade the rest")
        return 130
    return 1 if summary.failed else 0


def _check_chapters(chapters: list[str] | None) -> None:
    if chapters is None:
        return
    known = sorted(p.name for p in (KIT / "exercises").glob("ch*") if any(p.glob("test_*.py")))
    for chapter in chapters:
        if chapter not in known:
            raise GradingError(
                f"--chapters: unknown chapter {chapter!r}; the chapters are: {', '.join(known)}"
            )


def _gradebook_url(value: str | None, out: Path) -> str | None:
    from grader import gradebook

    if value is not None:
        return gradebook.url_of(value)
    if not gradebook.available():
        print("note: nbgrader is not installed, so no gradebook is written: pip install nbgrader")
        return None
    return gradebook.url_of(str(out / "gradebook.db"))
