"""``grader batch DIR``: grade every submission under DIR, in parallel, resumably.

Each folder directly under DIR is one student's submission (its name is the
student id), graded like ``grader run`` (its own subprocess, the kit's
pristine tests). Results go to an output folder (``--out``, default
``DIR.grades`` next to DIR):

- ``results/STUDENT.json``: the record of one grading, written atomically the
  moment it finishes, with the fingerprint of what was graded (every file of
  the submission, the kit's tests and harness, the chapters and hidden traces);
- ``grades.csv``: one row per student, one column per chapter, the total, the maxima;
- ``gradebook.db``: an nbgrader gradebook (``--gradebook URL`` for another
  database), see :mod:`grader.gradebook`.

Resumable: a rerun grades only the submissions that have no record yet or
whose fingerprint changed; an interrupted run (Ctrl-C, a crash) keeps every
record it finished, and records are keyed by student, so none is lost and
none is counted twice. The CSV and the gradebook are rebuilt from the records,
and a record is read only when its signature holds (:mod:`grader.records`).

Each ``grader run`` child gets ``--timeout`` plus :data:`START_MARGIN` seconds
of wall-clock time, in a process group of its own, with a private ``TMPDIR``
the batch owns (so the sandboxes it makes are the batch's to remove). On
expiry its whole group is killed and the student is recorded as timed out, to
be graded again next run. A child's exit status is an interrupt only when the
batch itself was interrupted.

``--shard K/N`` grades only every N-th student (by sorted id, starting with the
K-th) into an output folder of its own; ``grader merge`` joins the shards.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from grader import affinity, reaper
from grader.errors import GradingError
from grader.records import (
    Record,
    check_records,
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
PLAN_FILE = "plan.json"
"""In the batch's folder: the tests to score, collected by the first grading for the others."""
START_MARGIN = 30.0
"""Wall-clock seconds a ``grader run`` child gets beyond ``--timeout``: its start-up (the
kit's digest, the sandbox) and writing its result."""


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
    parser.add_argument(
        "--shard",
        default=None,
        metavar="K/N",
        help="grade only slice K of N of the students (every N-th by sorted id, from the K-th) "
        "into an output folder of its own; join the slices with grader merge",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``--shard K/N`` as (K, N), 1 <= K <= N; GradingError with one line otherwise."""
    if value is None:
        return None
    k, slash, n = value.strip().partition("/")
    if slash and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n):
        return int(k), int(n)
    raise GradingError(f"--shard {value}: expected K/N with 1 <= K <= N, e.g. --shard 2/4")


def in_shard(students: list[Path], shard: tuple[int, int] | None) -> list[Path]:
    """The slice of ``students`` (sorted by id) that shard (K, N) grades: every N-th from the
    K-th, so N shards cover every student exactly once and differ in size by one at most."""
    if shard is None:
        return list(students)
    k, n = shard
    ordered = sorted(students, key=lambda path: path.name)
    return [path for index, path in enumerate(ordered) if index % n == k - 1]


SHARD_FILE = "shard.txt"
"""In a shard's output folder: ``K/N``."""


class TimedOut(Exception):
    """A ``grader run`` child ran past its wall-clock limit; its process group was killed."""


# -- the children -------------------------------------------------------------------------------

_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL ``process``'s process group and every descendant it still has."""
    stray = reaper.descendants(process.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    for pid in stray:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def kill_children() -> None:
    """Kill every ``grader run`` child under way (the batch was interrupted)."""
    with _children_lock:
        running = list(_children)
    for process in running:
        kill_tree(process)


def work_root(out: Path) -> Path:
    """The folder under the system's temp folder where ``out``'s gradings get their TMPDIR."""
    name = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"twm-batch-{name}"


def sweep(root: Path) -> int:
    """Remove what killed gradings left in ``root``; return how many folders went (a plan
    kept there, :data:`PLAN_FILE`, goes too, uncounted: the next grading collects anew)."""
    if not root.is_dir() or root.is_symlink():
        return 0
    gone = 0
    for entry in root.iterdir():
        gone += entry.is_dir() and not entry.is_symlink()
        remove_tree(entry)
    return gone


def remove_tree(path: Path) -> None:
    """Remove ``path`` even where a grading made its folders read-only."""

    def unlock(function, name, _error) -> None:
        with contextlib.suppress(OSError):
            parent = os.path.dirname(name)
            os.chmod(parent, os.stat(parent).st_mode | stat.S_IRWXU)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, stat.S_IRWXU)
            function(name)

    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=unlock)
    else:
        shutil.rmtree(path, onerror=unlock)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _private_folder(root: Path) -> Path:
    """``root`` made (traversable by the learner's account, listable by the grader only)."""
    root.mkdir(mode=0o711, parents=True, exist_ok=True)
    info = root.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise GradingError(f"{root}: not a folder of this user's; remove it and run again")
    os.chmod(root, 0o711)
    return root


def grader_command(
    path: Path,
    out: Path,
    *,
    chapters: list[str] | None = None,
    hidden: Path | None = None,
    timeout: float | None = None,
    cpus: list[int] | None = None,
    shared_plan: Path | None = None,
) -> list[str]:
    """The ``grader run`` that grades ``path`` into ``out`` (run in the kit's folder), on
    ``cpus`` when given (see :mod:`grader.affinity`)."""
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
    if cpus:
        command += ["--cpus", ",".join(map(str, cpus))]
    if shared_plan is not None:
        command += ["--shared-plan", str(shared_plan)]
    return command


def grade_in_subprocess(
    path: Path,
    *,
    chapters: list[str] | None = None,
    hidden: Path | None = None,
    timeout: float | None = None,
    work: Path | None = None,
    cpus: list[int] | None = None,
) -> SubmissionResult:
    """``grader run PATH --format json`` in a child process of its own; its result.

    The child runs in a new session (its own process group) with ``TMPDIR`` set to
    a fresh folder under ``work`` (default: the system's temp folder), removed
    once the child is gone, whatever happened. Past ``timeout`` + START_MARGIN
    seconds its group is killed and :class:`TimedOut` raised; exit 2 (bad input)
    is a GradingError; any other failure (a crash, a signal, exit 130) a
    RuntimeError. A child per submission keeps one crash from taking the batch down.
    """
    from grader.grade import DEFAULT_TIMEOUT

    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    limit = timeout + START_MARGIN
    # Never chmod the system's temp folder itself: only a folder the batch made.
    root = _private_folder(work) if work is not None else Path(tempfile.gettempdir())
    tmp = Path(tempfile.mkdtemp(prefix="twm-batch-grading-", dir=root))
    try:
        os.chmod(tmp, 0o711)  # the sandboxes inside must be reachable by the learner's account
        private = Path(tempfile.mkdtemp(prefix="result-", dir=tmp))
        out, log = private / "result.json", private / "stderr.txt"
        # The batch's own folder (never the system's temp folder) keeps the plan for all.
        shared_plan = root / PLAN_FILE if work is not None else None
        command = grader_command(
            path,
            out,
            chapters=chapters,
            hidden=hidden,
            timeout=timeout,
            cpus=cpus,
            shared_plan=shared_plan,
        )
        with open(log, "wb") as stderr:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=KIT,
                env={**os.environ, "TMPDIR": str(tmp)},
                start_new_session=True,
            )
        with _children_lock:
            _children.add(process)
        try:
            try:
                code = process.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                kill_tree(process)
                process.wait()
                raise TimedOut(
                    f"timed out: its grading ran past {limit:g} s of wall-clock time "
                    f"(--timeout {timeout:g} plus {START_MARGIN:g} s to start) and was "
                    "stopped; graded again next run"
                ) from None
            finally:
                kill_tree(process)  # what it started and left behind goes with it
        finally:
            with _children_lock:
                _children.discard(process)
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        if code == 2:
            raise GradingError((lines or ["bad submission"])[-1].removeprefix("grader run: "))
        if code != 0 or not out.is_file():
            raise RuntimeError(f"grader run exited {code}: {(lines or ['no output'])[-1]}")
        return SubmissionResult.from_json(out.read_text(encoding="utf-8"))
    finally:
        remove_tree(tmp)


@dataclass
class Summary:
    graded: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Students whose grading crashed: not recorded, so the next run grades them again."""
    timed_out: dict[str, str] = field(default_factory=dict)
    """Students whose grading ran out of time: recorded with the reason, graded again next run."""
    distrusted: int = 0
    """Records found unreadable, incomplete or not signed by this batch: graded again."""
    swept: int = 0
    """Temp folders of earlier, killed gradings removed at the start."""
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
    shard: tuple[int, int] | None = None,
) -> Summary:
    """Grade what is missing or changed under ``root`` into ``out``; return what happened.

    ``grade`` grades one submission; it raises :class:`TimedOut` when the grading
    ran out of time, GradingError for a submission that cannot be graded. A
    KeyboardInterrupt (from Ctrl-C, or raised by ``grade``) stops the batch: the
    gradings under way are killed, finished records stay, the rest is left for
    the next run. ``shard`` (K, N) grades only that slice (:func:`in_shard`).
    """
    summary = Summary(swept=sweep(work_root(out)))
    records, distrusted = check_records(out)
    summary.distrusted = len(distrusted)
    label = f"{shard[0]}/{shard[1]}" if shard else ""
    if shard:  # so that grader merge knows this slice was graded, even with no student in it
        out.mkdir(parents=True, exist_ok=True)
        (out / SHARD_FILE).write_text(label + "\n", encoding="utf-8")
    todo: list[tuple[Path, str]] = []
    for path in in_shard(submissions(root, out), shard):
        key = fingerprint(path, settings)
        known = records.get(path.name)
        if known is not None and known.fingerprint == key and not known.retry and not regrade:
            summary.up_to_date.append(path.name)
        else:
            todo.append((path, key))
    stop = threading.Event()

    def job(path: Path) -> SubmissionResult | None:
        if stop.is_set():
            return None
        try:
            result = grade(path)
        except Exception:
            if stop.is_set():
                return None  # killed because the batch was interrupted: not this student's doing
            raise
        # A result that finished while the batch was stopping may come from a
        # grading run that was killed too: never record it.
        return None if stop.is_set() else result

    def settle(future: Future, student: str, key: str) -> None:
        try:
            result = future.result()
        except TimedOut as error:
            save_record(out, Record(student, key, None, str(error), True, settings, label))
            summary.timed_out[student] = str(error)
            return
        except GradingError as error:
            # Bad input that depends on the submission alone (not a kit checkout):
            # recorded, so it is graded again only when the submission changes.
            save_record(out, Record(student, key, None, str(error), False, settings, label))
            summary.graded.append(student)
            return
        except Exception as error:  # a crash of the grader itself: not recorded, retried next run
            summary.failed[student] = f"{type(error).__name__}: {error}"
            return
        if result is not None:
            save_record(out, Record(student, key, result, "", False, settings, label))
            summary.graded.append(student)

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
                    settle(future, path.name, key)
                    bar.advance(path.name)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        stop.set()
        kill_children()
        executor.shutdown(wait=True, cancel_futures=True)
    return summary


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
    # A record without a result is written too (it removes an older score), once.
    fresh = [r for r in records.values() if have.get(r.student) != _synced_as(r)]
    fresh = [r for r in fresh if r.result is not None or r.student in have]
    if not fresh:
        return 0  # nothing to write: not even nbgrader's import is paid
    try:
        written = gradebook.write(url, ((r.student, r.result) for r in fresh))
    except GradingError:
        raise
    except Exception as error:  # the database's own errors: the records stay, a rerun retries
        raise GradingError(f"gradebook {url}: could not write it ({error})") from None
    for record in fresh:
        have[record.student] = _synced_as(record)
    marker.write_text(json.dumps(synced, indent=1) + "\n", encoding="utf-8")
    return written


def _synced_as(record: Record) -> str:
    return record.fingerprint if record.result is not None else f"{record.fingerprint}:none"


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
    shard = parse_shard(args.shard)
    name = root.resolve().name + (f".grades-{shard[0]}-of-{shard[1]}" if shard else ".grades")
    out: Path = args.out or root.resolve().parent / name
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
    work = work_root(out)

    # Each grading under way has CPUs of its own, so that two never pin a test process to
    # the same CPU while another stands idle.
    shares = affinity.Shares(args.jobs)

    def grade(path: Path) -> SubmissionResult | None:
        with shares.share() as cpus:
            return grade_in_subprocess(
                path,
                chapters=chapters,
                hidden=args.hidden,
                timeout=args.timeout,
                work=work,
                cpus=cpus,
            )

    from grader import pristine

    version = pristine.load(KIT).version
    settings = settings_key(version, chapters, args.hidden, args.timeout)
    with _terminate_as_interrupt():
        summary = run_batch(
            root,
            out,
            grade,
            settings=settings,
            jobs=args.jobs,
            show_progress=not args.quiet,
            regrade=args.regrade,
            shard=shard,
        )
    remove_tree(work)
    records = {r.student: r for r in load_records(out).values()}
    write_csv(out / "grades.csv", records.values())
    lines = [
        f"graded {len(summary.graded)}, up to date {len(summary.up_to_date)}, "
        f"timed out {len(summary.timed_out)}, crashed {len(summary.failed)}",
        f"csv: {out / 'grades.csv'} ({len(records)} students)",
    ]
    if shard:
        lines.insert(0, f"shard {shard[0]}/{shard[1]}: every {shard[1]}-th student by id")
    if summary.distrusted:
        lines.append(
            f"distrusted {summary.distrusted} records (unreadable, incomplete or not signed "
            "by this batch): their students were graded again"
        )
    if summary.swept:
        lines.append(f"removed {summary.swept} temp folders left by killed gradings")
    unreadable = sorted(r.student for r in records.values() if r.result is None and not r.retry)
    if unreadable:
        lines.append(
            f"not gradable ({len(unreadable)}, see the error column): {', '.join(unreadable)}"
        )
    if url is not None:
        written = sync_gradebook(out, url, records)
        lines.append(f"gradebook: {url} ({written} students written)")
    lines += [f"  {who}: {why}" for who, why in summary.timed_out.items()]
    lines += [f"  {who}: {why} (graded again next run)" for who, why in summary.failed.items()]
    print("\n".join(lines))
    if summary.interrupted:
        print("interrupted: run the same command again to grade the rest")
        return 130
    return 1 if summary.failed or summary.timed_out else 0


@contextlib.contextmanager
def _terminate_as_interrupt():
    """SIGTERM (a cancelled CI job) stops the batch as Ctrl-C does: its children are killed."""

    def interrupt(_signum, _frame) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave the signal as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
